"""vLLM start-up log importer: the hand-read figures of tests/data/profiles/vllm_logs (SOURCES.md tables),
per-rank handling, restarts, failures, and launch-to-ready on both clocks with midnight / new-year wraps."""

from __future__ import annotations

import pytest

from costmodel.profiles.importers import combine_runs, import_profile, parse_vllm_log, read_part
from costmodel.profiles.importers.base import LogRun
from costmodel.profiles.schema import MaxConcurrency
from tests.conftest import DATA

LOGS = DATA / "profiles" / "vllm_logs"


def runs_of(name: str) -> list[LogRun]:
    """The runs of the log file whose name starts with ``name`` (or with ``vllm-`` + ``name``)."""
    (path,) = [p for p in LOGS.glob("*.log") if p.name.startswith((name, f"vllm-{name}"))]
    part = read_part(path)
    assert part.format == "vllm-log"
    return part.runs


# Every row and every non-"—" column of the ground-truth table in /work/shared/data/vllm_logs/SOURCES.md
# (copied to tests/data/profiles/vllm_logs), plus the three excerpts added in tests/data/profiles/SOURCES.md.
# Columns: weights_load_s, weights_gib, dynamo_s, compile_s, cuda_graph_s, engine_init_s, kv tokens, max conc.
GROUND_TRUTH = [
    ("issue5104", 0, None, 0.2389, None, None, None, None, 75_200, None),
    ("pr6234", 0, None, 6.1138, None, None, None, None, 160_624, None),
    ("pr11005", 0, None, None, None, None, 10, 14.18, None, None),
    ("pr11005", 1, None, None, 4.60, 19.37, 15, 39.34, None, None),
    ("pr12569", 0, None, 67.7229, 12.88, 54.73, None, None, 22_096, (10.79, 2048)),
    ("pr19794", 0, None, None, None, 18.40, 14, 44.51, 251_920, (6.15, 40_960)),
    ("pr22587", 0, 5.965132, 2.8871, None, None, None, None, None, None),
    ("pr29335", 0, 27.200487, 2.0513, 6.07, 19.69, None, None, 1_587_648, (775.22, 2048)),
    ("issue41789", 0, None, None, None, None, 9, 153.19, None, None),
    ("issue18730", 0, 40.766484, 18.1450, 19.00, None, None, None, None, None),
    ("genlm-backend-issue10", 0, None, None, None, None, 16, 21.55, None, None),
    ("runai-model-streamer-issue67", 0, None, None, None, 45.81, 37, 90.84, 1_131_008, (8.63, 131_072)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "index", "load_s", "gib", "dynamo", "compile_s", "graph", "init", "kv", "conc"),
    GROUND_TRUTH,
    ids=[f"{row[0]}#{row[1]}" for row in GROUND_TRUTH],
)
def test_hand_read_figures(
    name: str,
    index: int,
    load_s: float | None,
    gib: float | None,
    dynamo: float | None,
    compile_s: float | None,
    graph: float | None,
    init: float | None,
    kv: int | None,
    conc: tuple[float, int] | None,
) -> None:
    run = runs_of(name)[index]
    ph = run.phases
    assert ph.weights_load_s == load_s
    assert ph.weights_gib == gib
    assert ph.dynamo_s == dynamo
    assert ph.compile_s == compile_s
    assert ph.cuda_graph_s == graph
    assert ph.engine_init_s == init
    assert run.kv_cache_tokens == kv
    expected = None if conc is None else MaxConcurrency(value=conc[0], tokens_per_request=conc[1])
    assert run.max_concurrency == expected
    assert run.ready_s is None  # no excerpt holds both a start line and a ready line


def test_side_figures_in_parentheses_and_blocks() -> None:
    """The parenthesised figures of the table: general-shape compile, graph memory, CPU blocks, blocks."""
    (r5104,) = runs_of("vllm-issue5104_v0-v0.4.2_opt-125m.log")
    assert (r5104.gpu_blocks, r5104.extras["cpu_blocks"]) == (4700, 7281)
    assert (r5104.engine_version, r5104.model) == ("0.4.2", "facebook/opt-125m")
    assert r5104.settings == {"max_model_len": 2048, "tensor_parallel_size": 1}
    (r6234,) = runs_of("vllm-pr6234_v0-v0.5_tp4_multiproc-workers.log")
    assert (r6234.gpu_blocks, r6234.extras["cpu_blocks"], r6234.ranks) == (10039, 1310, 3)
    default, o3 = runs_of("vllm-pr11005_v0-dec2024_summary-lines-no-timestamps.log")
    assert default.extras == {"cuda_graph_gib": 0.32}
    assert o3.extras == {"cuda_graph_gib": 0.33, "graph_compile_s": 14.77}
    assert (default.model, o3.settings) == ("meta-llama/Meta-Llama-3-8B", {"compilation_level": 3})
    (r12569,) = runs_of("vllm-pr12569_v1-v0.7_llama3.1-70b-w8a8.log")
    assert r12569.extras == {"graph_compile_s": 41.86}
    assert r12569.gpu_blocks == 1381
    assert r12569.model == "neuralmagic/Meta-Llama-3.1-70B-Instruct-quantized.w8a8"
    assert r12569.settings == {"max_model_len": 2048, "gpu_memory_utilization": 0.98}
    (r19794,) = runs_of("vllm-pr19794_v1-v0.9_sm120_qwen3.log")
    assert r19794.extras == {"graph_compile_s": 14.65, "cuda_graph_gib": 0.84}
    assert r19794.gpu_blocks == 15745 and r19794.kv_cache_tokens == 15745 * 16
    (r22587,) = runs_of("vllm-pr22587_v1-v0.10_iso-timestamp-prefix.log")
    assert r22587.extras == {"loading_weights_s": 5.43}  # "weights s" column
    (r29335,) = runs_of("vllm-pr29335_v1-v0.11_engine-core-dp0.log")
    assert r29335.extras == {"graph_compile_s": 13.62}
    (r41789,) = runs_of("vllm-issue41789_v1-2026_gemma4-31b_init-engine-compilation.log")
    assert r41789.init_compilation_s == 92.51 and r41789.extras == {"cuda_graph_gib": 0.46}
    (runai,) = runs_of("runai-model-streamer-issue67_v1-v0.9_api-server-start.log")
    assert runai.gpu_blocks == 70688 and runai.kv_cache_tokens == 1_131_008  # tokens line wins over blocks
    assert runai.phases.api_server_s == 1.0  # init engine 11:03:55 -> Starting vLLM API server 11:03:56


def test_failed_start_is_reported() -> None:
    (run,) = runs_of("vllm-issue18730_v1-v0.8_enginecore-failed-to-start.log")
    assert run.failed and run.failure == "EngineCore failed to start"
    assert run.extras == {"loading_weights_s": 38.52}
    profile = import_profile(LOGS / "vllm-issue18730_v1-v0.8_enginecore-failed-to-start.log", model="x")
    assert profile.cold_start is not None
    assert profile.cold_start.failed and profile.cold_start.failure == "EngineCore failed to start"


def test_failure_root_cause_is_the_first_exception_after_the_marker() -> None:
    # Constructed from real line shapes: issue 18730's failure lines and the ValueError wording of issue 27508.
    text = """\
(EngineCore_DP0 pid=223840) INFO 10-25 13:08:01 [gpu_model_runner.py:2602] Model loading took \
60.7711 GiB and 31.250917 seconds
(EngineCore_DP0 pid=223840) ERROR 10-25 13:08:43 [core.py:708] EngineCore failed to start.
(EngineCore_DP0 pid=223840) ERROR 10-25 13:08:43 [core.py:708] Traceback (most recent call last):
(EngineCore_DP0 pid=223840) ERROR 10-25 13:08:43 [core.py:708] ValueError: No available memory for \
the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.
(APIServer pid=223700) RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}
"""
    (run,) = parse_vllm_log(text).runs
    assert run.failed
    assert run.failure == (
        "EngineCore failed to start (ValueError: No available memory for the cache blocks. "
        "Try increasing `gpu_memory_utilization` when initializing the engine.)"
    )
    assert run.phases.weights_load_s == 31.250917


def test_per_rank_lines_take_the_slowest_rank() -> None:
    (run,) = runs_of("genlm-backend-issue10_v0_tp4-graph-capture-per-rank.log")
    assert run.ranks == 4 and run.phases.cuda_graph_s == 16
    text = """\
(Worker_TP0 pid=101) INFO 09-03 16:28:40 [default_loader.py:267] Loading weights took 1.10 seconds
(Worker_TP1 pid=102) INFO 09-03 16:28:41 [default_loader.py:267] Loading weights took 1.90 seconds
(Worker_TP0 pid=101) INFO 09-03 16:28:41 [gpu_model_runner.py:1975] Model loading took 0.4900 GiB and 1.600000 seconds
(Worker_TP1 pid=102) INFO 09-03 16:28:42 [gpu_model_runner.py:1975] Model loading took 0.4900 GiB and 2.400000 seconds
"""
    (run,) = parse_vllm_log(text).runs  # constructed: the V1 TP prefixes of vllm PR 24162
    assert run.phases.weights_load_s == 2.4 and run.phases.weights_gib == 0.49
    assert run.extras["loading_weights_s"] == 1.9 and run.ranks == 2


def test_two_commands_in_one_log_use_the_last_start() -> None:
    part = read_part(LOGS / "vllm-pr11005_v0-dec2024_summary-lines-no-timestamps.log")
    chosen, notes = combine_runs(part.runs)
    assert chosen is not None and chosen.phases.engine_init_s == 39.34
    assert any("different commands" in n for n in notes)


START = """\
{p}INFO {d1} [api_server.py:1882] vLLM API server version 0.10.2
{p}INFO {d1} [utils.py:328] non-default args: {{'model_tag': 'Qwen/Qwen2.5-0.5B', 'model': \
'Qwen/Qwen2.5-0.5B', 'tensor_parallel_size': 2}}
{p}INFO {d2} [gpu_model_runner.py:1975] Model loading took 0.4900 GiB and {load} seconds
{p}INFO {d3} [core.py:215] init engine (profile, create kv cache, warmup model) took 30.00 seconds
{p}INFO {d4} [api_server.py:1639] Starting vLLM API server 0 on http://0.0.0.0:8000
"""


@pytest.mark.parametrize(
    ("d1", "d4", "ready_s"),
    [
        ("07-08 10:00:00", "07-08 10:00:45", 45.0),
        ("03-31 23:59:50", "04-01 00:00:35", 45.0),  # midnight and a new month
        ("12-31 23:59:50", "01-01 00:00:35", 45.0),  # new year: the month goes backwards
        ("02-28 23:59:50", "03-01 00:00:35", 45.0),  # common year: Feb 28 -> Mar 1
        ("02-28 23:59:50", "02-29 00:00:35", 45.0),  # a leap day in the log picks a leap year
    ],
)
def test_launch_to_ready_on_vllm_clock(d1: str, d4: str, ready_s: float) -> None:
    # constructed from real V1 line shapes (vllm PR 24162 / issue 67 of runai-model-streamer)
    text = START.format(p="", d1=d1, d2=d1, d3=d4, d4=d4, load="1.2")
    (run,) = parse_vllm_log(text).runs
    assert run.ready_s == ready_s
    assert run.phases.api_server_s == 0.0
    assert (run.engine_version, run.model, run.settings["tensor_parallel_size"]) == ("0.10.2", "Qwen/Qwen2.5-0.5B", 2)


def test_docker_clock_is_used_for_uvicorn_lines_and_never_mixed() -> None:
    # constructed: Docker RFC 3339 stamps (nanoseconds, UTC) over vLLM local time 7 h behind, as in PR 22587
    text = """\
2026-07-08T22:40:03.166647879Z (APIServer pid=1) INFO 07-08 15:40:03 [api_server.py:1882] vLLM API \
server version 0.11.0
2026-07-08T22:40:50.000000000Z (EngineCore_DP0 pid=80) INFO 07-08 15:40:50 [core.py:215] init \
engine (profile, create kv cache, warmup model) took 40.10 seconds
2026-07-08T22:40:52.500000000Z (APIServer pid=1) INFO 07-08 15:40:52 [api_server.py:1639] Starting \
vLLM API server 0 on http://0.0.0.0:8000
2026-07-08T22:40:53.666647879Z (APIServer pid=1) INFO:     Application startup complete.
"""
    (run,) = parse_vllm_log(text).runs
    assert run.ready_s == pytest.approx(50.5)  # to "Application startup complete", on the Docker clock
    assert run.phases.api_server_s == pytest.approx(3.666647879, abs=1e-6)
    assert run.phases.engine_init_s == 40.10


def test_ci_prefix_without_outer_stamp_on_ready_line_falls_back_to_vllm_clock() -> None:
    text = """\
[2025-08-12T08:42:32Z] (APIServer pid=7) INFO 08-12 01:42:32 [api_server.py:1882] vLLM API server version 0.10.1
(APIServer pid=7) INFO 08-12 01:43:02 [api_server.py:1639] Starting vLLM API server on http://0.0.0.0:8000
"""
    (run,) = parse_vllm_log(text).runs
    assert run.ready_s == 30.0  # vLLM's own clock on both lines; the CI stamp (UTC) is not mixed in


def test_compose_prefix_markdown_indent_and_restarts() -> None:
    one = START.format(p="vllm-1  | ", d1="05-06 06:00:00", d2="05-06 06:00:20", d3="05-06 06:01:00",
                       d4="05-06 06:01:02", load="18.0")  # fmt: skip
    two = START.format(p="    vllm-1  | ", d1="05-06 07:00:00", d2="05-06 07:00:10", d3="05-06 07:00:40",
                       d4="05-06 07:00:41", load="8.0")  # fmt: skip
    log = parse_vllm_log(one + "vllm-1 exited with code 0\n" + two)
    assert [r.ready_s for r in log.runs] == [62.0, 41.0]
    chosen, notes = combine_runs(log.runs)
    assert chosen is not None
    assert chosen.ready_s == 51.5 and chosen.phases.weights_load_s == 13.0
    assert any("medians over 2 starts" in n for n in notes)


def test_download_line_and_command_settings() -> None:
    text = """\
$ vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192 -tp 2 --gpu-memory-utilization=0.9 --enforce-eager
(EngineCore_DP0 pid=9) INFO 11-24 11:40:01 [weight_utils.py:392] Time spent downloading weights for \
meta-llama/Llama-3.1-8B-Instruct: 95.123456 seconds
"""
    part = read_part(__import__("io").BytesIO(text.encode()))
    (run,) = part.runs
    assert run.phases.weights_download_s == 95.123456
    assert part.model == "meta-llama/Llama-3.1-8B-Instruct" and part.gpu_count == 2
    assert run.settings == {
        "max_model_len": 8192,
        "tensor_parallel_size": 2,
        "gpu_memory_utilization": 0.9,
        "enforce_eager": True,
    }


def test_profile_from_a_log_names_missing_phases() -> None:
    profile = import_profile(LOGS / "vllm-pr12569_v1-v0.7_llama3.1-70b-w8a8.log")
    assert profile.model == "neuralmagic/Meta-Llama-3.1-70B-Instruct-quantized.w8a8"
    assert profile.kv_cache_tokens == 22_096
    cold = profile.cold_start
    assert cold is not None and cold.total_s is None and cold.samples_s == []
    assert any("lower bound" in n for n in profile.provenance.notes)
    profile = import_profile(LOGS / "vllm-issue41789_v1-2026_gemma4-31b_init-engine-compilation.log", model="g")
    assert profile.cold_start is not None and profile.cold_start.phases.compile_s == 92.51
