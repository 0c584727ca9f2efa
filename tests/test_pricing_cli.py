"""``breakeven prices list|show|import`` through the real CLI root (costmodel.cli.app)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costmodel.cli import app
from pricing.catalog import load_catalog
from tests.conftest import DATA, shared_file

PRICES = DATA / "pricing"
TODAY = ["--today", "2026-11-22"]

runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str, str]:
    # A wide terminal, so that table cells are not wrapped (the 80-column layout wraps long ids).
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_list_shows_prices_dates_stale_flags_sources_and_origins() -> None:
    code, out, err = _run("prices", "list", "--provider", "digitalocean", *TODAY)
    assert code == 0, err
    assert "Per-token prices" in out and "GPU instance prices" in out
    for text in ("digitalocean/gpt-oss-120b", "0.7", "2026-06-23", "dev.to", "bundled:digitalocean", "STALE"):
        assert text in out, text
    assert "digitalocean/gpu-mi300x-1x-article" in out and "1s/5m" in out
    assert "22 prices, 14 stale" in err


def test_list_json_has_every_field_origin_and_stale() -> None:
    code, out, _ = _run("prices", "list", "--kind", "gpu", "--match", "mi300x", "--json", *TODAY)
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [
        "digitalocean/gpu-mi300x-1x",
        "digitalocean/gpu-mi300x-1x-article",
        "digitalocean/gpu-mi300x-8x",
    ]
    first = rows[0]
    assert first["hourly_usd"] == 1.99 and first["minimum_billed_s"] == 300 and first["reserved_hourly_usd"] is None
    assert (first["origin"], first["replaced"], first["age_days"], first["stale"]) == (
        "bundled:digitalocean.toml",
        [],
        178,
        False,
    )
    code, out, _ = _run(
        "prices", "list", "--kind", "gpu", "--match", "mi300x", "--json", "--stale-after", "100", *TODAY
    )
    assert all(r["stale"] for r in json.loads(out))


def test_list_json_output_loads_back_as_a_catalog(tmp_path: Path) -> None:
    code, out, _ = _run("prices", "list", "--kind", "token", "--json")
    assert code == 0
    saved = tmp_path / "listed.json"
    saved.write_text(out, encoding="utf-8")
    again = load_catalog([saved], include_bundled=False)
    assert again.ids() == load_catalog().ids("token")
    assert again.token("digitalocean/gpt-oss-120b") == load_catalog().token("digitalocean/gpt-oss-120b")


def test_list_with_user_prices_shows_the_override(tmp_path: Path) -> None:
    team = tmp_path / "team.toml"
    team.write_text(
        '[[gpu]]\nid = "digitalocean/gpu-mi300x-1x"\nprovider = "digitalocean"\noffering = "contract"\n'
        'gpu = "MI300X"\ngpu_count = 1\nhourly_usd = 1.50\nas_of = 2026-11-01\nsource = "contract"\n',
        encoding="utf-8",
    )
    code, out, _ = _run("prices", "list", "--json", "--match", "mi300x-1x", "--prices", team, *TODAY)
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["digitalocean/gpu-mi300x-1x"]["hourly_usd"] == 1.5
    assert rows["digitalocean/gpu-mi300x-1x"]["origin"] == str(team)
    assert rows["digitalocean/gpu-mi300x-1x"]["replaced"] == ["bundled:digitalocean.toml"]
    code, out, _ = _run("prices", "list", "--match", "mi300x-1x", "--prices", team, *TODAY)
    assert "team.toml (overrides 1)" in out


def test_list_loads_litellm_and_skypilot_files_directly() -> None:
    code, out, err = _run(
        "prices", "list", "--json", "--no-bundled",
        "--prices", PRICES / "litellm_excerpt.json", "--prices", PRICES / "skypilot_do_vms.csv",
    )  # fmt: skip
    assert code == 0, err
    ids = {r["id"] for r in json.loads(out)}
    assert "openai/gpt-4o" in ids and "digitalocean/gpu-h100x1-80gb" in ids
    assert "11 entries not imported" in err and "42 entries not imported" in err


def test_show_table_and_json() -> None:
    code, out, _ = _run("prices", "show", "digitalocean/gpu-h100-8x", *TODAY)
    assert code == 0
    for text in (
        "23.92",
        "2.99",
        "minimum_billed_s",
        "300",
        "docs.digitalocean.com",
        "[doc]",
        "bundled:digitalocean.toml",
    ):
        assert text in out, text
    code, out, _ = _run("prices", "show", "digitalocean/gpt-oss-120b", "--json", *TODAY)
    data = json.loads(out)
    assert (data["kind"], data["input_usd_per_mtok"], data["output_usd_per_mtok"], data["stale"]) == (
        "token",
        0.1,
        0.7,
        False,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["prices", "show", "digitalocean/gpu-mi300x"], ["unknown price id", "did you mean", "valid choices"]),
        (["prices", "list", "--provider", "digitalocan"], ["unknown provider", "digitalocean"]),
        (["prices", "list", "--today", "yesterday"], ["--today", "YYYY-MM-DD", "yesterday"]),
        (["prices", "list", "--prices", "no-such-file.toml"], ["no-such-file.toml", "file not found"]),
    ],
)
def test_errors_exit_non_zero_with_one_clear_line(args: list[str], expected: list[str]) -> None:
    code, out, err = _run(*args)
    assert code != 0 and out == ""
    flat = " ".join(err.split())
    assert flat.startswith("error:")
    for part in expected:
        assert part in flat, part
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("hourly_usd = -1.0", ["bad.toml", "'acme/gpu'", "field 'hourly_usd'", "non-negative"]),
        ("hourly_usd = nan", ["bad.toml", "'acme/gpu'", "field 'hourly_usd'", "finite"]),
        ('hourly_usd = 1.0\nspeed = "fast"', ["bad.toml", "'acme/gpu'", "field 'speed'", "unknown field"]),
        ('hourly_usd = 1.0\ncurrency = "ABC"', ["bad.toml", "'acme/gpu'", "field 'currency'", "ISO 4217"]),
    ],
    ids=["negative", "nan", "unknown-field", "currency"],
)
def test_bad_price_files_exit_non_zero(tmp_path: Path, entry: str, expected: list[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'[[gpu]]\nid = "acme/gpu"\nprovider = "acme"\noffering = "x"\ngpu = "H100"\ngpu_count = 1\n{entry}\n'
        'as_of = 2026-01-01\nsource = "s"\n',
        encoding="utf-8",
    )
    code, out, err = _run("prices", "list", "--prices", bad)
    assert code == 2 and out == ""
    flat = " ".join(err.split())
    for part in expected:
        assert part in flat, part


def test_import_litellm_excerpt_to_toml(tmp_path: Path) -> None:
    out_file = tmp_path / "litellm.toml"
    code, _, err = _run("prices", "import", "litellm", PRICES / "litellm_excerpt.json", "-o", out_file,
                        "--as-of", "2025-11-04")  # fmt: skip
    assert code == 0, err
    flat = " ".join(err.split())
    assert "imported 38 token prices (as_of 2025-11-04), skipped 11" in flat
    assert "3 implausible price" in flat and "wrote 38 prices" in flat
    text = out_file.read_text(encoding="utf-8")
    assert text.startswith("# Imported by `breakeven prices import litellm`")
    data = tomllib.loads(text)
    assert len(data["token"]) == 38 and "gpu" not in data
    catalog = load_catalog([out_file], include_bundled=False)
    assert catalog.token("openai/gpt-4o").batch_discount == 0.5


def test_import_skypilot_to_json_and_show_skipped(tmp_path: Path) -> None:
    out_file = tmp_path / "azure.json"
    code, _, err = _run("prices", "import", "skypilot", PRICES / "skypilot_azure_vms_gpu_subset.csv", "-o", out_file,
                        "--show-skipped")  # fmt: skip
    assert code == 0, err
    assert "skipped line 151: Standard_NV16as_v4: no on-demand price" in " ".join(err.split())
    rows = json.loads(out_file.read_text(encoding="utf-8"))
    assert len(rows) == 133 and rows[0]["kind"] == "gpu"
    assert rows[0]["as_of"] == "2026-11-22"  # the verified copy's documented date


def test_import_errors_leave_no_output(tmp_path: Path) -> None:
    out_file = tmp_path / "out.toml"
    code, _, err = _run("prices", "import", "litellm", PRICES / "skypilot_do_vms.csv", "-o", out_file)
    assert code == 2 and "not valid JSON" in " ".join(err.split())
    code, _, err = _run("prices", "import", "skypilot", PRICES / "litellm_excerpt.json", "-o", out_file,
                        "--provider", "acme")  # fmt: skip
    assert code == 2 and "not a SkyPilot vms.csv" in " ".join(err.split())
    code, _, err = _run("prices", "import", "skypilot", PRICES / "skypilot_do_vms.csv", "-o", tmp_path / "out.csv")
    assert code == 2 and ".toml or .json" in " ".join(err.split())
    code, _, err = _run("prices", "import", "litellm", PRICES / "litellm_excerpt.json", "-o", out_file,
                        "--as-of", "2025-13-01")  # fmt: skip
    assert code == 2 and "--as-of" in err
    code, _, err = _run("prices", "import", "parquet", PRICES / "litellm_excerpt.json", "-o", out_file)
    assert code != 0
    assert not out_file.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary files left behind either


def test_import_full_litellm_file(tmp_path: Path) -> None:
    source = shared_file("prices/litellm_model_prices.json")
    out_file = tmp_path / "litellm.toml"
    code, _, err = _run("prices", "import", "litellm", source, "-o", out_file)
    assert code == 0, err
    flat = " ".join(err.split())
    assert "imported 1,423 token prices (as_of 2025-11-04), skipped 286" in flat
    assert "17 implausible price" in flat and "207 billed by a non-token meter" in flat
    assert len(load_catalog([out_file], include_bundled=False)) == 1_423
