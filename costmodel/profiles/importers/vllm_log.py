"""vLLM server start-up logs → cold-start phases, KV-cache capacity and readiness.

Reads V0 and V1 logs of 2024–2026 (``/work/shared/notes/profile-formats.md`` §1 lists the wordings) with
any line prefix: process tags such as ``(EngineCore_DP0 pid=N)``, ``(APIServer pid=N)``,
``(Worker_TP0 pid=N)``, ``(VllmWorkerProcess pid=N)``; Docker RFC 3339 timestamps; CI ``[2025-...Z]``
stamps; docker-compose ``svc  |`` columns; markdown indentation. Messages are found anywhere in a line,
so a tqdm bar glued to the front of a log line does not hide it.

Wording → phase (seconds):

=========================================================  ==================================
``Model loading took X GiB [memory] and Y seconds``         ``weights_load_s`` = Y, ``weights_gib`` = X
``Loading weights took Y seconds`` (when the above absent)  ``weights_load_s`` = Y
``Loading model weights took X GB`` (2024 V0, early V1)     ``weights_gib`` = X (vLLM divides by 2**30:
                                                            the number is GiB despite the "GB")
``Time spent downloading weights for M: Y seconds``         ``weights_download_s`` = Y
``Dynamo bytecode transform time: X s``                     ``dynamo_s``
``torch.compile takes|took X s in total``                   ``compile_s``
``Graph capturing finished in X secs``                      ``cuda_graph_s``
``init engine (...) took X seconds|s [(compilation: Y s)]`` ``engine_init_s`` (Y kept apart)
``GPU KV cache size: N tokens``                             ``kv_cache_tokens``
``# GPU blocks: N`` / ``# cuda blocks: N`` /                ``kv_cache_tokens`` = N x 16 (block size
``num_gpu_blocks is: N``                                    16 unless the command line says otherwise)
``Maximum concurrency for N tokens per request: Xx``        ``max_concurrency``
=========================================================  ==================================

Per-rank lines (tensor/pipeline parallel workers) are kept per rank and the **maximum** over ranks is
used: the slowest rank gates the start-up, and when ranks agree it equals rank 0. ``weights_gib`` is
therefore what one GPU holds, not the replica total. When one rank logs the same phase twice in a run
(a speculative-decoding draft model compiled after the target), the two are added.

A log can hold several starts (restarts, or several ``vllm serve`` commands pasted together); a new run
begins at a shell ``vllm serve`` line, at a ``vLLM API server version`` line once the current run has data,
or when a once-per-start line (``Initializing ... LLM engine``, ``Model loading took``, ``init engine``)
repeats on the same process.

Launch-to-ready (``ready_s``) is computed only when a run holds both a start line (``vLLM API server
version`` or ``Initializing ... LLM engine``) and a ready line (``Application startup complete``,
``Uvicorn running on``, ``Starting vLLM API server``), both stamped on the same clock: the outer
RFC 3339 stamp when both lines have one, else vLLM's own ``MM-DD HH:MM:SS`` (no year: a month that goes
backwards is read as a new year; 02-29 picks a leap year). Mixing the two clocks is never done (a CI
runner's UTC and vLLM's local time can differ by hours). Python start-up before the first log line is
not in the log, so ``ready_s`` from a log under-reads a measured launch→ready time by a few seconds.
"""

from __future__ import annotations

import ast
import re
import shlex
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from costmodel.profiles.importers.base import DEFAULT_BLOCK_SIZE, ImportedPart, LogRun
from costmodel.profiles.schema import MaxConcurrency, Phases, SourceRef

# --- line anatomy ---------------------------------------------------------------------------------------

_INNER = re.compile(
    r"\b(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\s+"
    r"(?P<mon>\d\d)-(?P<day>\d\d)\s+(?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?:[.,](?P<frac>\d+))?\s+"
)
_OUTER = re.compile(
    r"^\s*(?:[\w.-]+\s+\|\s*)?\[?(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)[T ](?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)"
    r"(?:[.,](?P<frac>\d+))?(?P<tz>Z|[+-]\d\d:?\d\d)?\]?"
)
_PROC = re.compile(r"\((?P<name>[A-Za-z][\w-]*) pid=(?P<pid>\d+)\)")
_COMMAND = re.compile(r"(?:^|[\s$>])(?P<cmd>vllm serve|-m vllm\.entrypoints\.openai\.api_server)\b(?P<rest>.*)$")

# --- messages ----------------------------------------------------------------------------------------------

_NUM = r"(\d+(?:\.\d+)?)"
_INT = r"(\d{1,3}(?:,\d{3})+|\d+)"
_MODEL_LOADING = re.compile(rf"Model loading took {_NUM} ?(GiB|GB)(?: memory)? and {_NUM} seconds")
#: Messages stating one figure of the rank that logs them (summed on the rank; a run takes the largest rank's).
_PER_RANK: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"Loading weights took {_NUM} seconds"), "loading_weights_s"),
    (re.compile(rf"Loading model weights took {_NUM} ?(GiB|GB)"), "weights_gib"),
    (re.compile(rf"Time spent downloading weights for .*?: {_NUM} seconds"), "download_s"),
    (re.compile(rf"Dynamo bytecode transform time: {_NUM} s"), "dynamo_s"),
    (re.compile(rf"torch\.compile (?:takes|took) {_NUM} s in total"), "compile_s"),
)
_GENERAL_SHAPE = re.compile(rf"Compiling a graph for (?:general shape|dynamic shape|compile range .*?) takes {_NUM} s")
_GRAPH = re.compile(rf"Graph capturing finished in {_NUM} secs?(?:, took {_NUM} GiB)?")
_INIT = re.compile(
    rf"init engine \(profile, create kv cache, warmup model\) took {_NUM} (?:seconds|s)\b"
    rf"(?: \(compilation: {_NUM} s\))?"
)
_KV_TOKENS = re.compile(rf"GPU KV cache size: {_INT} tokens")
_BLOCKS = re.compile(rf"# (?:GPU|cuda) blocks: {_INT}(?:, # CPU blocks: {_INT})?")
_NUM_GPU_BLOCKS = re.compile(rf"num_gpu_blocks is: {_INT}")
_MAX_CONC = re.compile(rf"Maximum concurrency for {_INT} tokens per request: {_NUM}x")
_API_VERSION = re.compile(r"vLLM API server version (?P<v>\S+)")
_ENGINE_INIT = re.compile(r"Initializing an? (?:V\d )?LLM engine \(v(?P<v>[^)\s]+)\)")
_CFG_MODEL = re.compile(r"with config: model='(?P<m>[^']+)'")
_CFG_INT = re.compile(r"\b(?P<k>tensor_parallel_size|pipeline_parallel_size|max_seq_len)=(?P<v>\d+)")
_NON_DEFAULT = re.compile(r"non-default args: (?P<d>\{.*\})\s*$")
_LOAD_MODEL = re.compile(r"Starting to load model (?P<m>\S+?)\.\.\.")
_READY = (
    (re.compile(r"Starting vLLM API server\b"), 0),
    (re.compile(r"Uvicorn running on\b"), 1),
    (re.compile(r"Application startup complete"), 2),
)
_FAILURE = re.compile(r"EngineCore failed to start|Engine core initialization failed|EngineCore hit an exception")
_EXCEPTION = re.compile(r"\b(?P<e>[A-Za-z_][\w.]*(?:Error|Exception)): (?P<msg>.+?)\s*$")

#: Command-line options kept as profile settings (long and short spellings → setting name, type).
_CLI_SETTINGS: dict[str, tuple[str, type]] = {
    "--max-model-len": ("max_model_len", int),
    "--tensor-parallel-size": ("tensor_parallel_size", int),
    "-tp": ("tensor_parallel_size", int),
    "--pipeline-parallel-size": ("pipeline_parallel_size", int),
    "-pp": ("pipeline_parallel_size", int),
    "--gpu-memory-utilization": ("gpu_memory_utilization", float),
    "--max-num-seqs": ("max_num_seqs", int),
    "--max-num-batched-tokens": ("max_num_batched_tokens", int),
    "--block-size": ("block_size", int),
    "--dtype": ("dtype", str),
    "--quantization": ("quantization", str),
    "-q": ("quantization", str),
    "--kv-cache-dtype": ("kv_cache_dtype", str),
}
#: Keys of the "non-default args" line kept as settings: the same settings, and enforce_eager (a flag).
_NON_DEFAULT_KEYS = {name for name, _ in _CLI_SETTINGS.values()} | {"enforce_eager"}

_MAIN = "main"  # rank key of the API server / engine core / V0 driver (unprefixed) lines


@dataclass(frozen=True)
class _Line:
    number: int
    message: str
    rank: str
    inner: tuple[int, int, int, int, int] | None  # month, day, hour, minute, second
    outer: datetime | None
    is_log_line: bool


@dataclass(frozen=True)
class VllmLog:
    """A parsed vLLM log: one :class:`LogRun` per server start found in it."""

    source: str
    runs: list[LogRun]


_MARKDOWN = re.compile(r"(?:\*\*|__|[*`])(\d[\d.,]*(?: ?[A-Za-z]{1,7})?)(?:\*\*|__|[*`])")
"""Markdown around a number (and its unit) in logs pasted into issue threads: ``took **7.51 s**``,
``took `14.99` GiB``, ``*8.02* seconds``."""


def unmarkdown(text: str) -> str:
    """``text`` without the bold, italic and code marks that issue threads wrap around numbers."""
    return _MARKDOWN.sub(r"\1", text)


def looks_like_vllm_log(text: str) -> bool:
    """True when ``text`` holds at least one line the log parser understands."""
    text = unmarkdown(text)
    probes = (
        *(pattern for pattern, _ in _PER_RANK),
        _MODEL_LOADING,
        _GRAPH,
        _INIT,
        _KV_TOKENS,
        _BLOCKS,
        _NUM_GPU_BLOCKS,
        _MAX_CONC,
        _API_VERSION,
        _ENGINE_INIT,
        _FAILURE,
    )
    return any(p.search(text) for p in probes)


def _split(number: int, raw: str) -> _Line:
    inner_m = _INNER.search(raw)
    head = raw[: inner_m.start()] if inner_m else raw
    proc = None
    for proc in _PROC.finditer(head):  # noqa: B007 - the last tag before the level is the emitting process
        pass
    rank = _MAIN
    if proc is not None:
        name = proc.group("name")
        if name.startswith(("VllmWorkerProcess", "RayWorkerWrapper")):
            rank = f"{name}:{proc.group('pid')}"
        elif name.startswith("Worker") or re.fullmatch(r"EngineCore_(?:DP)?[1-9]\d*", name):
            rank = name  # a TP/PP worker, or a data-parallel engine other than the first
    outer = _parse_outer(raw)
    inner = None
    if inner_m:
        inner = tuple(int(inner_m.group(k)) for k in ("mon", "day", "h", "mi", "s"))
    message = raw[inner_m.end() :] if inner_m else (raw[proc.end() :] if proc else raw)
    if inner_m:  # drop "[file.py:123]" / "file.py:123]" after the timestamp
        message = re.sub(r"^\[?[\w./-]+\.py:\d+\]\s*", "", message)
    return _Line(number, message.strip(), rank, inner, outer, inner_m is not None)  # type: ignore[arg-type]


def _parse_outer(raw: str) -> datetime | None:
    m = _OUTER.match(raw)
    if not m:
        return None
    frac = (m.group("frac") or "0")[:6].ljust(6, "0")
    try:
        stamp = datetime(
            int(m.group("y")),
            int(m.group("mo")),
            int(m.group("d")),
            int(m.group("h")),
            int(m.group("mi")),
            int(m.group("s")),
            int(frac),
            tzinfo=UTC,  # only differences are used; the zone cancels out
        )
    except ValueError:
        return None
    return stamp


def _inner_clock(stamps: list[tuple[int, int, int, int, int] | None]) -> list[float | None]:
    """Seconds on one monotone clock for vLLM's year-less ``MM-DD HH:MM:SS`` stamps.

    A month smaller than the previous stamp's month is a new year (12-31 → 01-01); midnight needs
    nothing special because the day is in the stamp. The base year is a leap year positioned so that
    any 02-29 in the log is a valid date, else a common year.
    """
    wraps: list[int] = []
    year_offset = 0
    previous_month: int | None = None
    for stamp in stamps:
        if stamp is not None:
            if previous_month is not None and stamp[0] < previous_month:
                year_offset += 1
            previous_month = stamp[0]
        wraps.append(year_offset)
    base = 2001
    for stamp, offset in zip(stamps, wraps, strict=True):
        if stamp is not None and stamp[:2] == (2, 29):
            base = 2000 - offset
            break
    epoch = datetime(1999, 1, 1, tzinfo=UTC)
    seconds: list[float | None] = []
    for stamp, offset in zip(stamps, wraps, strict=True):
        if stamp is None:
            seconds.append(None)
            continue
        try:
            moment = datetime(base + offset, stamp[0], stamp[1], stamp[2], stamp[3], stamp[4], tzinfo=UTC)
        except ValueError:
            seconds.append(None)
            continue
        seconds.append((moment - epoch).total_seconds())
    return seconds


def _to_int(text: str) -> int:
    return int(text.replace(",", ""))


@dataclass
class _RunBuilder:
    first_line: int
    per_rank: dict[str, dict[str, float]] = field(default_factory=dict)
    once: dict[str, dict[str, int]] = field(default_factory=dict)  # rank → once-per-start markers seen
    engine_init_s: float | None = None
    init_compilation_s: float | None = None
    kv_tokens: int | None = None
    gpu_blocks: int | None = None
    cpu_blocks: int | None = None
    max_conc: MaxConcurrency | None = None
    version: str | None = None
    model: str | None = None
    command: str | None = None
    settings: dict[str, str | int | float | bool | None] = field(default_factory=dict)
    extras: dict[str, float] = field(default_factory=dict)
    start_stamps: list[tuple[float | None, datetime | None]] = field(default_factory=list)
    init_stamp: tuple[float | None, datetime | None] | None = None
    ready_stamps: list[tuple[int, float | None, datetime | None]] = field(default_factory=list)
    failure: str | None = None
    root_cause: str | None = None
    has_data: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def worth_keeping(self) -> bool:
        """True once the run holds anything read from the log (a phase, a start or ready line, a failure)."""
        return bool(
            self.has_data or self.failure or self.start_stamps or self.ready_stamps or self.version or self.command
        )

    def add_rank_value(self, rank: str, key: str, value: float) -> None:
        values = self.per_rank.setdefault(rank, {})
        values[key] = values.get(key, 0.0) + value
        self.has_data = True

    def seen_once(self, rank: str, marker: str) -> bool:
        """Record a once-per-start marker; True when it was already seen on this rank in this run."""
        seen = self.once.setdefault(rank, {})
        already = marker in seen
        seen[marker] = seen.get(marker, 0) + 1
        return already

    def build(self) -> LogRun:
        def rank_max(key: str) -> float | None:
            values = [v[key] for v in self.per_rank.values() if key in v]
            return max(values) if values else None

        weights_load = rank_max("model_loading_s")
        loading_weights = rank_max("loading_weights_s")
        if loading_weights is not None:
            self.extras["loading_weights_s"] = loading_weights
        if weights_load is None:
            weights_load = loading_weights
        phases = Phases(
            weights_download_s=rank_max("download_s"),
            weights_load_s=weights_load,
            dynamo_s=rank_max("dynamo_s"),
            compile_s=rank_max("compile_s"),
            cuda_graph_s=rank_max("cuda_graph_s"),
            engine_init_s=self.engine_init_s,
            api_server_s=self._api_server_s(),
            weights_gib=rank_max("weights_gib"),
        )
        block_size = self.settings.get("block_size")
        size = block_size if isinstance(block_size, int) and block_size > 0 else DEFAULT_BLOCK_SIZE
        kv_tokens = self.kv_tokens
        notes = list(self.notes)
        if kv_tokens is None and self.gpu_blocks is not None and self.gpu_blocks > 0:
            kv_tokens = self.gpu_blocks * size
            notes.append(f"kv_cache_tokens = {self.gpu_blocks} GPU blocks x block size {size}")
        ranks = [r for r, v in self.per_rank.items() if v]
        failure = None
        if self.failure is not None:
            failure = self.failure if self.root_cause is None else f"{self.failure} ({self.root_cause})"
        return LogRun(
            phases=phases,
            ready_s=self._ready_span(self.start_stamps[0] if self.start_stamps else None),
            init_compilation_s=self.init_compilation_s,
            kv_cache_tokens=kv_tokens,
            gpu_blocks=self.gpu_blocks,
            max_concurrency=self.max_conc,
            engine_version=self.version,
            model=self.model,
            command=self.command,
            settings=dict(self.settings),
            ranks=max(1, len(ranks)),
            failed=self.failure is not None,
            failure=failure,
            first_line=self.first_line,
            extras=dict(self.extras),
            notes=tuple(notes),
        )

    def _ready_span(self, start: tuple[float | None, datetime | None] | None) -> float | None:
        """Seconds from ``start`` to the best ready line stamped on the same clock (outer clock first)."""
        if start is None or not self.ready_stamps:
            return None
        s_inner, s_outer = start
        for clock in ("outer", "inner"):
            origin = s_outer if clock == "outer" else s_inner
            if origin is None:
                continue
            stamped = [r for r in self.ready_stamps if (r[2] if clock == "outer" else r[1]) is not None]
            if not stamped:
                continue
            best = max(r[0] for r in stamped)
            _, e_inner, e_outer = next(r for r in stamped if r[0] == best)
            span = (e_outer - s_outer).total_seconds() if clock == "outer" else e_inner - s_inner  # type: ignore[operator]
            return span if span >= 0 else None
        return None

    def _api_server_s(self) -> float | None:
        return self._ready_span(self.init_stamp)


#: A cheap first pass: only lines holding one of these words can matter (logs of busy servers run to
#: millions of request lines).
_RELEVANT = re.compile(
    r"took|takes|Graph capturing|transform time|blocks|KV cache size|Maximum concurrency|API server|LLM engine|"
    r"non-default args|"
    r"Starting to load model|startup complete|Uvicorn running|downloading weights|failed to start|"
    r"initialization failed|hit an exception|Error|Exception|vllm serve|vllm\.entrypoints"
)


def parse_vllm_log(text: str, *, source: str = "<log>") -> VllmLog:
    """Parse the text of a vLLM server log into one :class:`LogRun` per start found in it."""
    raw_lines = unmarkdown(text).splitlines()
    lines = [_split(i + 1, raw) for i, raw in enumerate(raw_lines) if _RELEVANT.search(raw)]
    clock = _inner_clock([line.inner for line in lines])
    runs: list[LogRun] = []
    run = _RunBuilder(first_line=1)

    def new_run(at: int) -> None:
        nonlocal run
        if run.worth_keeping:
            runs.append(run.build())
        run = _RunBuilder(first_line=at)

    for line, inner_s in zip(lines, clock, strict=True):
        msg, rank = line.message, line.rank
        stamp = (inner_s, line.outer)
        command = None if line.is_log_line else _COMMAND.search(msg)
        if command is not None:
            new_run(line.number)
            _apply_command(run, command.group("cmd"), command.group("rest"))
            continue
        if m := _API_VERSION.search(msg):
            if run.has_data or run.ready_stamps or run.version is not None:
                new_run(line.number)
            run.version = m.group("v")
            run.start_stamps.append(stamp)
            continue
        if m := _ENGINE_INIT.search(msg):
            if run.seen_once(rank, "engine-init") or run.engine_init_s is not None:
                new_run(line.number)
                run.seen_once(rank, "engine-init")
            run.version = run.version or m.group("v")
            if not run.start_stamps:
                run.start_stamps.append(stamp)
            _apply_config(run, msg)
            continue
        if m := _MODEL_LOADING.search(msg):
            if run.seen_once(rank, "model-loading"):
                new_run(line.number)
                run.seen_once(rank, "model-loading")
            run.add_rank_value(rank, "weights_gib", float(m.group(1)))
            run.add_rank_value(rank, "model_loading_s", float(m.group(3)))
            continue
        if m := _INIT.search(msg):
            if run.engine_init_s is not None and run.seen_once(rank, "init-engine"):
                new_run(line.number)
            run.seen_once(rank, "init-engine")
            run.engine_init_s = max(run.engine_init_s or 0.0, float(m.group(1)))
            if m.group(2) is not None:
                run.init_compilation_s = max(run.init_compilation_s or 0.0, float(m.group(2)))
            run.init_stamp = stamp
            run.has_data = True
            continue
        _apply_message(run, rank, msg, stamp)
    new_run(len(raw_lines) + 1)
    return VllmLog(source=source, runs=runs)


def _apply_message(run: _RunBuilder, rank: str, msg: str, stamp: tuple[float | None, datetime | None]) -> None:
    for pattern, key in _PER_RANK:
        if m := pattern.search(msg):
            run.add_rank_value(rank, key, float(m.group(1)))
            return
    if m := _GENERAL_SHAPE.search(msg):
        run.extras["graph_compile_s"] = run.extras.get("graph_compile_s", 0.0) + float(m.group(1))
    elif m := _GRAPH.search(msg):
        run.add_rank_value(rank, "cuda_graph_s", float(m.group(1)))
        if m.group(2) is not None:
            run.extras["cuda_graph_gib"] = float(m.group(2))
    elif m := _KV_TOKENS.search(msg):
        run.kv_tokens = run.kv_tokens or _to_int(m.group(1))
        run.has_data = True
    elif m := _BLOCKS.search(msg):
        run.gpu_blocks = run.gpu_blocks or _to_int(m.group(1))
        if m.group(2) is not None:
            run.extras["cpu_blocks"] = _to_int(m.group(2))
        run.has_data = True
    elif m := _NUM_GPU_BLOCKS.search(msg):
        run.gpu_blocks = run.gpu_blocks or _to_int(m.group(1))
        run.has_data = True
    elif m := _MAX_CONC.search(msg):
        tokens, value = _to_int(m.group(1)), float(m.group(2))
        if run.max_conc is None and tokens > 0 and value > 0:
            run.max_conc = MaxConcurrency(value=value, tokens_per_request=tokens)
        run.has_data = True
    elif m := _LOAD_MODEL.search(msg):
        run.model = run.model or m.group("m")
    elif m := _NON_DEFAULT.search(msg):
        _apply_non_default(run, m.group("d"))
    elif _FAILURE.search(msg):
        if run.failure is None:
            run.failure = _FAILURE.search(msg).group(0)  # type: ignore[union-attr]
            if run.failure.startswith("Engine core initialization"):
                run.failure = "Engine core initialization failed"
    elif run.failure is not None and run.root_cause is None and (m := _EXCEPTION.search(msg)):
        if "Engine core initialization failed" not in m.group("msg"):
            run.root_cause = f"{m.group('e')}: {m.group('msg')}"
    else:
        for pattern, priority in _READY:
            if pattern.search(msg):
                run.ready_stamps.append((priority, *stamp))
                break


def _apply_config(run: _RunBuilder, msg: str) -> None:
    if m := _CFG_MODEL.search(msg):
        run.model = run.model or m.group("m")
    for m in _CFG_INT.finditer(msg):
        key = "max_model_len" if m.group("k") == "max_seq_len" else m.group("k")
        run.settings.setdefault(key, int(m.group("v")))


def _apply_non_default(run: _RunBuilder, text: str) -> None:
    try:
        args = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return
    if not isinstance(args, dict):
        return
    model = args.get("model") or args.get("model_tag")
    if isinstance(model, str):
        run.model = run.model or model
    for key in _NON_DEFAULT_KEYS & set(args):
        value = args[key]
        if isinstance(value, str | int | float | bool):
            run.settings[key] = value


def _apply_command(run: _RunBuilder, cmd: str, rest: str) -> None:
    run.command = f"{cmd}{rest}".strip()
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    if cmd == "vllm serve" and words and not words[0].startswith("-"):
        run.model = words[0]
    for i, word in enumerate(words):
        name, _, inline = word.partition("=")
        if name == "--model" and (inline or i + 1 < len(words)):
            run.model = inline or words[i + 1]
        elif name == "--enforce-eager":
            run.settings["enforce_eager"] = True
        elif re.fullmatch(r"-O\d", name):
            run.settings["compilation_level"] = int(name[2:])
        elif name in _CLI_SETTINGS and (inline or i + 1 < len(words)):
            key, kind = _CLI_SETTINGS[name]
            try:
                run.settings[key] = kind(inline or words[i + 1])
            except ValueError:
                continue


def part_from_log(log: VllmLog, *, sha256: str | None = None) -> ImportedPart:
    """Summarise a parsed log as an :class:`ImportedPart` (runs kept; KV figures from the last run)."""
    runs = log.runs
    last = runs[-1] if runs else LogRun()
    version = next((r.engine_version for r in reversed(runs) if r.engine_version), None)
    model = next((r.model for r in reversed(runs) if r.model), None)
    settings: dict[str, Any] = {}
    for run in runs:
        settings.update(run.settings)
    tp = settings.get("tensor_parallel_size")
    pp = settings.get("pipeline_parallel_size")
    gpu_count = None
    if isinstance(tp, int):
        gpu_count = tp * (pp if isinstance(pp, int) else 1)
    notes = [f"{log.source}: {len(runs)} server starts in one log"] if len(runs) > 1 else []
    return ImportedPart(
        format="vllm-log",
        source=SourceRef(path=log.source, kind="vllm-log", tool="vllm serve", tool_version=version, sha256=sha256),
        model=model,
        engine_name="vllm",
        engine_version=version,
        gpu_count=gpu_count,
        settings=settings,
        runs=list(runs),
        kv_cache_tokens=last.kv_cache_tokens,
        max_concurrency=last.max_concurrency,
        notes=notes,
    )


def combine_runs(runs: Iterable[LogRun]) -> tuple[LogRun | None, list[str]]:
    """One representative run from several starts, and notes saying how it was chosen.

    Starts whose shell commands differ (e.g. default vs ``-O3``) are different deployments: the last
    one is used. Otherwise each phase is the median over the starts that did not fail, and
    ``ready_s`` likewise. When every start failed, the last failed one is returned.
    """
    runs = list(runs)
    if not runs:
        return None, []
    notes: list[str] = []
    ok = [r for r in runs if not r.failed]
    if not ok:
        return runs[-1], notes
    if len(runs) > len(ok):
        notes.append(f"{len(runs) - len(ok)} of {len(runs)} logged starts failed; phases are from the others")
    commands = {r.command for r in ok if r.command}
    if len(commands) > 1:
        chosen = ok[-1]
        notes.append(
            f"the log holds {len(ok)} starts with different commands; using the last "
            f"({chosen.command!r}, from line {chosen.first_line})"
        )
        return chosen, notes
    if len(ok) == 1:
        return ok[0], notes

    def median(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return float(statistics.median(known)) if known else None

    keys = list(Phases.model_fields)
    phases = Phases(**{k: median([getattr(r.phases, k) for r in ok]) for k in keys})
    notes.append(f"phases and ready_s are medians over {len(ok)} starts")
    combined = replace(  # the last start, with the medians; its extras are one start's figures
        ok[-1],
        phases=phases,
        ready_s=median([r.ready_s for r in ok]),
        init_compilation_s=median([r.init_compilation_s for r in ok]),
        extras={},
    )
    return combined, notes
