"""``breakeven sweep``: spec checks before any work, serial and LocalCluster runs giving the same table,
failed cells recorded while the others land, resume, and sweep.html."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import breakeven.parallel
from breakeven.errors import InputError, UnknownNameError
from costmodel.cli import app
from costmodel.profiles import bundled_profile
from costmodel.sweep import AXES, COLUMNS, load_spec, resolve, run_sweep, sweep_outcome
from costmodel.sweep.spec import parse_spec
from reports.sweep import render_sweep
from tests.conftest import REPO

SPEC = """
name = "t"
trace = "bundled"
gpu = ["digitalocean/gpu-h100-1x", "nebius/gpu-h100-1x"]
serverless = ["digitalocean/llama3-8b-instruct", "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct"]
growth = [1, 8]
tier = ["on_demand", "spot"]

[options]
hybrid = false
trace_breakeven = false
today = "2026-11-22"
"""


def _spec(tmp_path: Path, text: str = SPEC, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _no_ttft_profile(tmp_path: Path) -> Path:
    """A serverless profile for the DigitalOcean 8B price whose measurement has no TTFT: cells on that price
    cannot compute serverless latency and fail; cells on the other price are unaffected."""
    data = json.loads(bundled_profile("gpt-oss-120b_do-serverless_article").model_dump_json(by_alias=True))
    data["warm"][0]["ttft_ms"] = None
    data["serverless_price_id"] = "digitalocean/llama3-8b-instruct"
    data["id"] = "do-8b-no-ttft"
    path = tmp_path / "no-ttft.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------- spec checks


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('gpu = ["nebius/gpu-h100-lx"]', r"key 'gpu': unknown GPU price id 'nebius/gpu-h100-lx' \(did you mean"),
        ('serverless = ["nope/model"]', r"key 'serverless': unknown per-token price id 'nope/model'"),
        ("growth = []", r"key 'growth': expected at least one value, found an empty list"),
        ("growth = [1, -2]", r"key 'growth': expected positive finite numbers, found -2"),
        ('policy = ["utilization:min=3,max=2"]', r"key 'policy': min replicas \(3\) is above max \(2\)"),
        ('profile = ["no-such-profile"]', r"key 'profile': .*no-such-profile"),
        ('trace = "missing.csv"', r"key 'trace': file or folder not found: .*missing.csv"),
        ('tier = ["monthly"]', r"key 'tier\.0': input should be 'on_demand', 'reserved' or 'spot'"),
        ("gpus = [1]", r"unknown sweep spec key 'gpus' \(did you mean 'gpu'\?\)"),
        ('[report]\naxes = ["growth", "region"]', r"unknown heatmap axis 'region'"),
    ],
)
def test_a_bad_spec_fails_with_the_key_and_the_value(tmp_path: Path, text: str, message: str) -> None:
    path = _spec(tmp_path, text + "\n")
    with pytest.raises(InputError, match=message):
        run_sweep(path, out=tmp_path / "out", workers=0)
    assert not (tmp_path / "out").exists()  # nothing started, nothing written


def test_not_toml_names_the_file(tmp_path: Path) -> None:
    path = _spec(tmp_path, "gpu = [\n")
    with pytest.raises(InputError, match=r"spec\.toml: not valid TOML"):
        load_spec(path)


def test_unreachable_scheduler_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(breakeven.parallel, "CONNECT_TIMEOUT_S", 1.0)
    result = CliRunner().invoke(
        app, ["sweep", str(_spec(tmp_path)), "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert result.exit_code == 2
    assert "cannot reach a Dask scheduler at tcp://127.0.0.1:9" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def test_cells_are_the_cross_product_and_missing_tiers_are_skipped(tmp_path: Path) -> None:
    resolved = resolve(parse_spec(load_spec(_spec(tmp_path)).model_dump()), base=tmp_path)
    # 2 GPUs x 2 serverless x 2 growth x 2 tiers; DigitalOcean's H100 has no spot price in the catalog
    assert len(resolved.cells) + len(resolved.skipped) == 16
    assert len(resolved.skipped) == 4
    assert all(s.cell.gpu == "digitalocean/gpu-h100-1x" and s.cell.tier == "spot" for s in resolved.skipped)
    assert resolved.crossed == ["gpu", "serverless", "growth", "tier"]
    assert len({c.id for c in resolved.cells}) == 12


def test_a_changed_option_makes_new_cell_ids(tmp_path: Path) -> None:
    one = resolve(load_spec(_spec(tmp_path)), base=tmp_path)
    two = resolve(load_spec(_spec(tmp_path, SPEC.replace("hybrid = false", "hybrid = true"))), base=tmp_path)
    assert {c.id for c in one.cells}.isdisjoint({c.id for c in two.cells})


def test_unknown_key_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"valid choices: .*growth"):
        parse_spec({"grwoth": [1]})


# ---------------------------------------------------------------------------------------------- runs


def test_serial_sweep_writes_a_tidy_table(tmp_path: Path) -> None:
    out = tmp_path / "out"
    frame = run_sweep(_spec(tmp_path), out=out, workers=0)
    assert list(frame.columns) == list(COLUMNS)
    assert frame.equals(pd.read_parquet(out / "sweep.parquet"))
    ok = frame[frame["status"] == "ok"]
    assert ok["cell_id"].nunique() == 12
    # one row per cell x option: the two serverless options are not crossed inside a cell
    assert set(ok.groupby("cell_id")["option_kind"].agg(frozenset)) == {frozenset({"serverless", "dedicated"})}
    assert set(frame.loc[frame["status"] == "skipped", "error"]) == {
        "digitalocean/gpu-h100-1x has no spot price in the catalog"
    }
    # every input is a column, and growth really scales the traffic
    growth1 = ok[(ok["growth"] == 1.0)]["user_rps"].iloc[0]
    growth8 = ok[(ok["growth"] == 8.0)]["user_rps"].iloc[0]
    assert growth8 == pytest.approx(8 * growth1)
    sls = ok[ok["option_kind"] == "serverless"]
    bills = sls.groupby(["serverless", "growth"])["total_cost_usd"].nunique()
    assert (bills == 1).all()  # the serverless bill does not depend on the GPU or its tier
    spot = ok[(ok["tier"] == "spot") & (ok["option_kind"] == "dedicated")]
    dedicated = ok[(ok["option_kind"] == "dedicated") & (ok["gpu"] == spot["gpu"].iloc[0])]
    on_demand = dedicated[dedicated["tier"] == "on_demand"]
    assert spot["monthly_cost_usd"].min() < on_demand["monthly_cost_usd"].min()
    winners = ok.drop_duplicates("cell_id")
    assert set(winners["winner_kind"]) <= {"serverless", "dedicated", "hybrid", "none"}
    assert (winners["winner_option_id"].notna()).all()


@pytest.mark.slow
def test_local_cluster_gives_the_serial_table_and_failed_cells_land(tmp_path: Path) -> None:
    profile = _no_ttft_profile(tmp_path)
    text = SPEC + f'serverless_profile = "{profile.name}"\n'
    serial = sweep_outcome(_spec(tmp_path, text), out=tmp_path / "serial", workers=0)
    dask = sweep_outcome(_spec(tmp_path, text), out=tmp_path / "dask", workers=2)
    assert dask.workers == 2
    assert serial.failed == dask.failed == 6  # the cells on the price the broken profile names
    failed = dask.frame[dask.frame["status"] == "error"]
    assert set(failed["serverless"]) == {"digitalocean/llama3-8b-instruct"}
    assert failed["error"].str.contains("expected a warm point with TTFT, found none").all()
    assert failed["option_id"].isna().all()
    ok = dask.frame[dask.frame["status"] == "ok"]
    assert ok["cell_id"].nunique() == 6  # the others still landed
    columns = [c for c in COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(serial.frame[columns], dask.frame[columns])


def test_resume_runs_only_the_missing_cells(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = sweep_outcome(_spec(tmp_path), out=out, workers=0)
    assert (first.ran, first.resumed) == (12, 0)
    cells = sorted((out / "cells").glob("*.parquet"))
    cells[0].unlink()
    cells[5].unlink()
    (out / "sweep.parquet").unlink()
    calls: list[tuple[int, int]] = []
    second = sweep_outcome(_spec(tmp_path), out=out, workers=0, progress=lambda d, t: calls.append((d, t)))
    assert (second.ran, second.resumed) == (2, 10)
    assert calls == [(1, 2), (2, 2)]
    columns = [c for c in COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(first.frame[columns], second.frame[columns])


def test_failed_cells_are_retried_on_resume(tmp_path: Path) -> None:
    profile = _no_ttft_profile(tmp_path)
    out = tmp_path / "out"
    broken = sweep_outcome(_spec(tmp_path, SPEC + f'serverless_profile = "{profile.name}"\n'), out=out, workers=0)
    assert broken.failed == 6
    assert len(list((out / "cells").glob("*.error.parquet"))) == 6
    # the same spec again still fails those cells (and only runs them); the ok cells are resumed
    again = sweep_outcome(_spec(tmp_path, SPEC + f'serverless_profile = "{profile.name}"\n'), out=out, workers=0)
    assert (again.ran, again.resumed, again.failed) == (6, 6, 6)


def test_cli_prints_the_summary_and_fails_on_failed_cells(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["sweep", str(_spec(tmp_path)), "--out", str(tmp_path / "a"), "--workers", "0"])
    assert ok.exit_code == 0, ok.output
    assert "12 of 16 cells analysed (12 run on 1 worker, 0 resumed, 4 not run)" in ok.output
    assert (tmp_path / "a" / "sweep.html").exists()
    profile = _no_ttft_profile(tmp_path)
    bad = runner.invoke(
        app,
        [
            "sweep",
            str(_spec(tmp_path, SPEC + f'serverless_profile = "{profile.name}"\n', "bad.toml")),
            "--out",
            str(tmp_path / "b"),
            "--workers",
            "0",
        ],
    )
    assert bad.exit_code == 1
    text = " ".join(bad.output.split())
    assert re.search(r"failed cell \w+ \(gpu=\S+, serverless=digitalocean/llama3-8b-instruct, .*TTFT", text)
    assert (tmp_path / "b" / "sweep.parquet").exists()


def test_python_api_takes_a_spec_object(tmp_path: Path) -> None:
    spec = parse_spec({"growth": [1, 2], "options": {"hybrid": False, "trace_breakeven": False}})
    frame = run_sweep(spec, out=tmp_path / "o", workers=0)
    assert frame["cell_id"].nunique() == 2
    assert set(frame["growth"]) == {1.0, 2.0}
    assert set(AXES) <= set(frame.columns)


# ---------------------------------------------------------------------------------------------- html


def test_sweep_html_shows_winners_frontier_and_flips_escaped(tmp_path: Path) -> None:
    frame = run_sweep(_spec(tmp_path), out=tmp_path / "o", workers=0)
    evil = frame.copy()
    evil["verdict"] = evil["verdict"].astype("string").str.replace("Run", "<script>alert(1)</script>", regex=False)
    html = render_sweep(evil, axes=["growth", "gpu"])
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"(src|href)=\"https?:|<link|@import|url\(http", html)  # nothing fetched
    assert html.count('class="chart heatmap"') == 4  # one per (serverless, tier) combination
    assert "Cost frontier by traffic growth" in html
    assert "Where the answer flips" in html
    assert "not run" in html


def test_readme_shows_a_sweep_command_with_the_example_spec() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "breakeven sweep examples/sweep.toml" in readme
    spec = load_spec(REPO / "examples" / "sweep.toml")
    resolved = resolve(spec, base=REPO / "examples")
    assert len(resolved.cells) == 48


@pytest.mark.slow
def test_a_sweep_over_a_dataset_on_a_local_cluster_gives_the_in_memory_answers(tmp_path: Path) -> None:
    from costmodel.analyze import bundled_trace  # noqa: PLC0415
    from traces.dataset import write_dataset  # noqa: PLC0415

    write_dataset(bundled_trace(), tmp_path / "ds", partition_s=600)
    text = SPEC.replace('trace = "bundled"', 'trace = "ds"').replace('tier = ["on_demand", "spot"]', "")
    on_dataset = run_sweep(_spec(tmp_path, text, "ds.toml"), out=tmp_path / "a", workers=2)
    in_memory = run_sweep(
        _spec(tmp_path, SPEC.replace('tier = ["on_demand", "spot"]', "")), out=tmp_path / "b", workers=0
    )
    assert set(on_dataset["trace"]) == {str(tmp_path / "ds")}
    columns = ["gpu", "serverless", "growth", "option_id", "total_cost_usd", "slo_attainment", "winner_option_id"]
    pd.testing.assert_frame_equal(on_dataset[columns], in_memory[columns])


@pytest.mark.slow
def test_scheduler_option_submits_to_an_existing_cluster(tmp_path: Path) -> None:
    from distributed import LocalCluster  # noqa: PLC0415

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address="127.0.0.1:0", processes=True) as cluster:
        outcome = sweep_outcome(_spec(tmp_path), out=tmp_path / "o", scheduler=cluster.scheduler_address)
    assert outcome.workers == 1 and outcome.ran == 12 and outcome.failed == 0
    assert outcome.frame["cell_id"].nunique() == 16
