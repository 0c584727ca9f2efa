"""``breakeven profile measure`` end to end, in a subprocess: outputs, Ctrl-C, SIGKILL, --launch, the API key."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from breakeven.errors import InputError
from costmodel.cli import app
from costmodel.profiles.live.launcher import LaunchedServer
from costmodel.profiles.live.samples import read_samples
from costmodel.profiles.measure_cli import EndpointName, KindChoice, LiveOptions
from costmodel.profiles.schema import Profile
from tests.support.servers import REPO, RunningServer, free_port, process_alive, running_server

FAKE_VLLM = REPO / "tests" / "support" / "fake_vllm.py"
KEY = "sk-live-test-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as running:
        yield running


def breakeven(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "costmodel", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "costmodel", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_requests(samples: Path, count: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if samples.exists() and samples.read_text().count('"type":"request"') >= count:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("no samples appeared")


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[RunningServer]:
    with running_server(f"key={KEY}") as running:  # 401 unless 'Authorization: Bearer KEY'
        yield running


def test_measure_writes_a_profile_and_samples_and_never_the_key(keyed_server: RunningServer, tmp_path: Path) -> None:
    result = breakeven(
        "profile", "measure", "--base-url", f"http://127.0.0.1:{keyed_server.port}",
        "--model", "fake:ttft=0.02,itl=0.002",
        "--api-key-env", "TEST_PROVIDER_KEY", "--concurrency", "1,3", "--output-tokens", "6,12",
        "--requests-per-level", "6", "--gpu", "H100", "--gpu-price", "digitalocean/gpu-h100-1x",
        "-o", "out/profile.json",
        cwd=tmp_path, env={"TEST_PROVIDER_KEY": KEY},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    profile = Profile.model_validate_json((tmp_path / "out" / "profile.json").read_text())
    assert [(p.concurrency, p.output_tokens_mean) for p in profile.warm] == [(1, 6), (1, 12), (3, 6), (3, 12)]
    assert all(p.valid and p.requests == 6 and p.failed == 0 for p in profile.warm)
    assert profile.kind == "dedicated" and profile.gpu == "H100" and profile.engine.name == "vllm"
    assert profile.gpu_price_id == "digitalocean/gpu-h100-1x"
    records, notes = read_samples(tmp_path / "out" / "profile.samples.jsonl")
    assert records[-1]["type"] == "end" and not records[-1]["interrupted"] and not notes
    assert sum(r["type"] == "request" for r in records) == 24
    # the CLI's client is as exact as the library's: TTFT against the server's own timestamps
    truth = keyed_server.records()
    errors = [
        r["ttft_s"] - (truth[r["response_id"]]["send_s"][0] - truth[r["response_id"]]["recv_s"])
        for r in records
        if r["type"] == "request"
    ]
    assert sorted(abs(e) for e in errors)[len(errors) // 2] < 0.001
    assert "tok/s" in result.stdout and "TTFT p50" in result.stdout
    # the key was sent (the server accepts only it) but is in no file and no output
    assert KEY not in all_text(tmp_path)
    assert KEY not in result.stdout + result.stderr
    rebuilt = breakeven(
        "profile", "measure", "--from-samples", "out/profile.samples.jsonl", "-o", "again.json", cwd=tmp_path
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = Profile.model_validate_json((tmp_path / "again.json").read_text())
    assert [p.model_dump() for p in again.warm] == [p.model_dump() for p in profile.warm]


def test_a_wrong_key_echoed_by_the_server_is_scrubbed(keyed_server: RunningServer, tmp_path: Path) -> None:
    wrong = "sk-wrong-key-9876543210"
    result = breakeven(
        "profile", "measure", "--base-url", keyed_server.base_url, "--model", "fake",
        "--api-key-env", "TEST_PROVIDER_KEY", "-o", "p.json", cwd=tmp_path, env={"TEST_PROVIDER_KEY": wrong},
    )  # fmt: skip
    assert result.returncode == 1
    assert "HTTP 401: invalid API key: 'Bearer ***'" in " ".join(result.stderr.split())  # the server echoed it
    assert wrong not in result.stderr + result.stdout + all_text(tmp_path)
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_leaves_a_valid_partial_profile(server: RunningServer, tmp_path: Path, sig: signal.Signals) -> None:
    proc = start(
        "profile", "measure", "--base-url", server.base_url, "--model", "fake:ttft=0.01,itl=0.02",
        "--concurrency", "2", "--output-tokens", "20", "--requests-per-level", "40", "-o", "p.json", cwd=tmp_path,
    )  # fmt: skip
    wait_for_requests(tmp_path / "p.samples.jsonl", 3, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "partial profile" in err
    profile = Profile.model_validate_json((tmp_path / "p.json").read_text())
    assert any("interrupted" in n for n in profile.provenance.notes)
    point = profile.warm[0]
    assert point.valid is False and point.requests is not None and 3 <= point.requests < 40
    records, _ = read_samples(tmp_path / "p.samples.jsonl")
    assert records[-1]["type"] == "end" and records[-1]["interrupted"] is True


def test_sigkill_leaves_a_readable_samples_file(server: RunningServer, tmp_path: Path) -> None:
    proc = start(
        "profile", "measure", "--base-url", server.base_url, "--model", "fake:ttft=0.01,itl=0.02",
        "--concurrency", "2", "--output-tokens", "20", "--requests-per-level", "40", "-o", "p.json", cwd=tmp_path,
    )  # fmt: skip
    wait_for_requests(tmp_path / "p.samples.jsonl", 3, proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert not (tmp_path / "p.json").exists()
    records, _ = read_samples(tmp_path / "p.samples.jsonl")
    assert records[-1]["type"] == "request"  # no end record: killed
    result = breakeven(
        "profile", "measure", "--from-samples", "p.samples.jsonl", "-o", "p.json", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    profile = Profile.model_validate_json(result.stdout)
    assert any("did not finish" in n for n in profile.provenance.notes)
    assert profile.warm[0].requests == sum(r["type"] == "request" for r in records)


def launch_command(port: int, pid_file: Path, *extra: str) -> str:
    args = [sys.executable, str(FAKE_VLLM), "fake-model", "--port", str(port), "--pid-file", str(pid_file), *extra]
    return " ".join(args)


def test_launch_times_cold_starts_parses_the_log_and_stops_the_server(tmp_path: Path) -> None:
    port = free_port()
    pid_file = tmp_path / "pids"
    result = breakeven(
        "profile", "measure", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "fake:ttft=0.01,itl=0.002",
        "--launch", launch_command(port, pid_file, "--child", "--warmup", "0.3"), "--restarts", "2",
        "--concurrency", "2", "--output-tokens", "5", "--requests-per-level", "4", "-o", "p.json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    profile = Profile.model_validate_json((tmp_path / "p.json").read_text())
    cold = profile.cold_start
    assert cold is not None and len(cold.samples_s) == 2 and not cold.failed
    assert cold.ready_s is not None and cold.total_s is not None
    assert 0.3 < cold.ready_s <= cold.total_s < 30  # /health answered 503 for 0.3 s after the port opened
    # phases from the log lines the fake printed (real vLLM wordings, see tests/support/SOURCES.md)
    assert cold.phases.weights_load_s == pytest.approx(27.200487)
    assert cold.phases.weights_gib == pytest.approx(2.0513)
    assert cold.phases.dynamo_s == pytest.approx(6.07)
    assert cold.phases.compile_s == pytest.approx(19.69)
    assert cold.phases.cuda_graph_s == pytest.approx(14.0)
    assert cold.phases.engine_init_s == pytest.approx(44.51)
    assert profile.kv_cache_tokens == 1_587_648
    assert profile.max_concurrency is not None and profile.max_concurrency.value == pytest.approx(775.22)
    logs = sorted((tmp_path / "p.samples.logs").glob("launch-*.log"))
    assert len(logs) == 2 and "Model loading took 2.0513 GiB" in logs[0].read_text()
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 2 and not any(process_alive(p) for p in pids)  # server and its child are gone


def test_launch_of_a_server_that_fails_to_start(tmp_path: Path) -> None:
    port = free_port()
    pid_file = tmp_path / "pids"
    result = breakeven(
        "profile", "measure", "--base-url", f"http://127.0.0.1:{port}", "--model", "fake",
        "--launch", launch_command(port, pid_file, "--fail", "--child"), "-o", "p.json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "the server exited with code 1 before it was ready" in message
    assert "EngineCore failed to start" in message and "no profile written" in message
    records, _ = read_samples(tmp_path / "p.samples.jsonl")
    launch = next(r for r in records if r["type"] == "launch")
    assert launch["failed"] and launch["phases"]["weights_load_s"] == pytest.approx(27.200487)
    assert not (tmp_path / "p.json").exists()
    assert not any(process_alive(int(p)) for p in pid_file.read_text().split())


def test_a_launched_server_that_dies_mid_run_ends_it(tmp_path: Path) -> None:
    port = free_port()
    pid_file = tmp_path / "pids"
    result = breakeven(
        "profile", "measure", "--base-url", f"http://127.0.0.1:{port}", "--model", "fake:ttft=0.01,itl=0.02",
        "--launch", launch_command(port, pid_file, "--child", "--die-after", "1.5"), "--concurrency", "2",
        "--output-tokens", "10", "--requests-per-level", "100", "-o", "p.json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert "the server exited with code 3 during the measurement" in " ".join(result.stderr.split())
    profile = Profile.model_validate_json((tmp_path / "p.json").read_text())  # what was measured is kept
    assert profile.warm[0].valid is False and any("ended with an error" in n for n in profile.provenance.notes)
    assert not any(process_alive(int(p)) for p in pid_file.read_text().split())


def test_ctrl_c_during_a_launched_run_stops_the_server(tmp_path: Path) -> None:
    port = free_port()
    pid_file = tmp_path / "pids"
    proc = start(
        "profile", "measure", "--base-url", f"http://127.0.0.1:{port}", "--model", "fake:ttft=0.01,itl=0.02",
        "--launch", launch_command(port, pid_file, "--child"), "--concurrency", "2", "--output-tokens", "20",
        "--requests-per-level", "40", "-o", "p.json", cwd=tmp_path,
    )  # fmt: skip
    wait_for_requests(tmp_path / "p.samples.jsonl", 2, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert Profile.model_validate_json((tmp_path / "p.json").read_text()).cold_start is not None
    assert not any(process_alive(int(p)) for p in pid_file.read_text().split())


def test_a_server_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    port = free_port()
    pid_file = tmp_path / "pids"
    command = launch_command(port, pid_file, "--ignore-term", "--child")

    async def go() -> float:
        server = LaunchedServer(command, log_path=tmp_path / "log", stop_grace_s=0.5)
        async with server:
            await server.wait_port("127.0.0.1", port, deadline_s=30)
            started = time.monotonic()
        return time.monotonic() - started

    took = asyncio.run(go())
    assert 0.5 <= took < 10  # waited the grace, then SIGKILL
    assert not any(process_alive(int(p)) for p in pid_file.read_text().split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "http://127.0.0.1:1", "--model", "m", "--concurrency", "1,x"], "option --concurrency"),
        (["--model", "m"], "--base-url and --model are required"),
        (["--base-url", "127.0.0.1:8000", "--model", "m"], "option --base-url: expected an http(s) URL"),
        (["--base-url", "http://h:1", "--model", "m", "--api-key-env", "NO_SUCH_VAR_X"], "'NO_SUCH_VAR_X' is not set"),
        (["--base-url", "http://h:1", "--model", "m", "--launch", "vllm serve 'x"], "option --launch: cannot split"),
        (["--from-samples", "missing.jsonl"], "missing.jsonl: file not found"),
    ],
)
def test_bad_options_get_one_clear_line(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["profile", "measure", *args, "-o", "p.json"])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (tmp_path / "p.json").exists()


def test_json_output_is_the_profile(server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [
        "profile", "measure", "--base-url", server.base_url, "--model", "fake:ttft=0.005,itl=0.001",
        "--concurrency", "1", "--output-tokens", "4", "--requests-per-level", "2", "--kind", "serverless",
        "--id", "demo", "-o", "p.json", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["id"] == "demo" and printed["kind"] == "serverless"
    assert printed == json.loads((tmp_path / "p.json").read_text())


def test_every_live_option_reaches_the_measurement(tmp_path: Path) -> None:
    """LiveOptions.config passes the options named as MeasureConfig's fields as given and parses the rest."""
    options = LiveOptions(
        base_url="http://127.0.0.1:9",
        model="m",
        api_key_env="NOT_A_CONFIG_FIELD",
        concurrency="2,8",
        output_tokens="5",
        requests_per_level=0,
        endpoint=EndpointName.completions,
        timeout_s=5.0,
        kind=KindChoice.dedicated,
        gpu="H100",
        gpu_price_id="g",
        serverless_price_id="s",
        seed=3,
        launch_timeout_s=9.0,
    )
    config = options.config(tmp_path / "logs")
    assert config.base_url == "http://127.0.0.1:9/v1" and config.model == "m" and config.endpoint == "completions"
    assert config.concurrency == (2, 8) and config.output_tokens == (5,) and config.requests_per_level is None
    assert (config.timeout_s, config.launch_timeout_s, config.seed, config.kind) == (5.0, 9.0, 3, "dedicated")
    assert (config.gpu, config.gpu_price_id, config.serverless_price_id) == ("H100", "g", "s")
    assert config.log_dir == tmp_path / "logs"
    with pytest.raises(InputError, match="--base-url and --model are required"):
        LiveOptions(model="m").config(tmp_path)
