"""The raw samples of a live measurement: one JSON object per line (``llm-breakeven/samples/v1``).

``breakeven profile measure`` appends a line the moment it has something to keep and flushes it, so an
interrupted (even SIGKILLed) run keeps every request it finished. Record types, by ``type``:

- ``run`` (first line): what was asked — endpoint, model, levels, settings. Never any API key.
- ``probe``: what the server accepted (``ignore_eos``, ``stream_options``) and the prompt calibration.
- ``launch``: one ``--launch`` cold start: seconds from spawn to port open, ``/health`` 200 and first token,
  and the phases read from its log.
- ``request``: one request: level (``concurrency``, ``output_tokens_target``), ``start_s`` (seconds since the
  run started), ``ttft_s``, ``itl_s`` (every inter-token gap), ``e2e_s``, tokens, outcome.
- ``end`` (last line, absent when the run was killed): finish time and whether it was interrupted.

:func:`read_samples` loads such a file back (tolerating a truncated last line, which a SIGKILL can leave).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from breakeven.errors import InputError, where
from breakeven.io import PathOrBuffer, read_text, source_name
from costmodel.profiles.schema import Phases

SAMPLES_SCHEMA: Final = "llm-breakeven/samples/v1"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRecord(_Record):
    """The first line: what was measured and how."""

    type: Literal["run"] = "run"
    schema_: Literal["llm-breakeven/samples/v1"] = Field(default=SAMPLES_SCHEMA, alias="schema")
    started: datetime = Field(description="When the run started (UTC).")
    base_url: str = Field(description="OpenAI base URL measured (ends in /v1 as a rule).")
    model: str = Field(description="Model name sent in each request.")
    endpoint: Literal["chat", "completions"] = Field(description="/v1/chat/completions or /v1/completions.")
    kind: Literal["dedicated", "serverless"] = Field(description="Deployment kind of the resulting profile.")
    profile_id: str = Field(description="Id of the resulting profile.")
    gpu: str | None = Field(default=None, description="GPU model, as stated by the user.")
    gpu_count: int = Field(default=1, ge=1, description="GPUs per replica, as stated by the user.")
    engine: str | None = Field(default=None, description="Engine or provider name, as stated by the user.")
    gpu_price_id: str | None = Field(default=None, description="Catalog id of the GPU price, as stated.")
    serverless_price_id: str | None = Field(default=None, description="Catalog id of the per-token price, as stated.")
    input_tokens: int = Field(ge=1, description="Target prompt length [tokens].")
    output_tokens: list[int] = Field(description="Target output lengths [tokens].")
    concurrency: list[int] = Field(description="Concurrency levels (requests kept in flight).")
    requests_per_level: list[int] = Field(description="Planned requests per level, in sweep order.")
    launch: str | None = Field(default=None, description="The --launch command, if any.")
    restarts: int = Field(default=0, ge=0, description="Launches planned (0 without --launch).")
    timeout_s: float = Field(gt=0, description="Longest silence allowed on a connection [s].")
    retries: int = Field(ge=0, description="Retries per request before the first token.")
    tool_version: str = Field(description="llm-breakeven version.")
    settings: dict[str, str | int | float | bool | None] = Field(default_factory=dict, description="User settings.")


class ProbeRecord(_Record):
    """What the server accepted, and the prompt calibration."""

    type: Literal["probe"] = "probe"
    ignore_eos: bool = Field(description="The server accepted ignore_eos.")
    stream_options: bool = Field(description="The server accepted stream_options.include_usage.")
    temperature: bool = Field(default=True, description="temperature=0 was sent (some models refuse it).")
    max_tokens_key: Literal["max_tokens", "max_completion_tokens"] = Field(
        default="max_tokens", description="The output-length parameter the server accepted."
    )
    usage: bool = Field(description="The server reported usage in the stream.")
    intercept_tokens: float = Field(description="Prompt tokens not from the words (template, instruction).")
    tokens_per_word: float = Field(gt=0, description="Prompt tokens per filler word.")
    calibrated: bool = Field(description="False when no usage was reported and defaults were used.")
    probes: list[tuple[int, int]] = Field(default_factory=list, description="(words, prompt tokens) probes.")
    words: int = Field(ge=1, description="Words sent per prompt for the target input length.")
    engine: str | None = Field(default=None, description="Engine found: 'vllm' (GET /version), or the host.")
    engine_version: str | None = Field(default=None, description="Engine version from GET /version.")


class LaunchRecord(_Record):
    """One launch of the server process (``--launch``)."""

    type: Literal["launch"] = "launch"
    restart: int = Field(ge=0, description="0 for the first launch.")
    port_open_s: float | None = Field(default=None, ge=0, description="Spawn to TCP port open [s].")
    ready_s: float | None = Field(default=None, ge=0, description="Spawn to GET /health 200 [s].")
    first_token_s: float | None = Field(default=None, ge=0, description="Spawn to first streamed token [s].")
    log_path: str | None = Field(default=None, description="Where the server's output was saved.")
    phases: Phases | None = Field(default=None, description="Phases parsed from the log.")
    kv_cache_tokens: int | None = Field(default=None, description="KV-cache tokens from the log.")
    max_concurrency: float | None = Field(default=None, description="Max-concurrency figure from the log.")
    max_concurrency_tokens: int | None = Field(default=None, description="The request length it is for.")
    engine_version: str | None = Field(default=None, description="Engine version from the log.")
    failed: bool = Field(default=False, description="The server did not come up.")
    error: str | None = Field(default=None, description="Why it did not come up.")


class RequestRecord(_Record):
    """One measured request."""

    type: Literal["request"] = "request"
    concurrency: int = Field(ge=1, description="Level: requests kept in flight.")
    output_tokens_target: int = Field(ge=1, description="Level: max_tokens sent.")
    index: int = Field(ge=0, description="Request number within its level.")
    start_s: float = Field(description="Send time, seconds since the run started.")
    ok: bool = Field(description="The stream completed without error.")
    status: int | None = Field(default=None, description="HTTP status of the last attempt.")
    error: str | None = Field(default=None, description="What went wrong, when not ok.")
    ttft_s: float | None = Field(default=None, ge=0, description="Send to first token [s].")
    itl_s: list[float] = Field(default_factory=list, description="Every gap between token events [s].")
    e2e_s: float | None = Field(default=None, ge=0, description="Send to end of stream [s].")
    prompt_tokens: int | None = Field(default=None, ge=0, description="From usage.")
    completion_tokens: int | None = Field(default=None, ge=0, description="From usage, else counted events.")
    completion_tokens_source: Literal["usage", "events"] | None = Field(default=None, description="Where from.")
    events: int = Field(default=0, ge=0, description="Token-bearing stream events received.")
    attempts: int = Field(default=1, ge=1, description="Attempts made (1 + retries used).")
    response_id: str | None = Field(default=None, description="The response id the server gave.")


class EndRecord(_Record):
    """The last line of a run that ended (normally, by error, or by Ctrl-C)."""

    type: Literal["end"] = "end"
    finished: datetime = Field(description="When the run ended (UTC).")
    interrupted: bool = Field(default=False, description="Stopped by Ctrl-C / SIGTERM.")
    error: str | None = Field(default=None, description="The error that ended the run, if any.")


AnyRecord = Annotated[RunRecord | ProbeRecord | LaunchRecord | RequestRecord | EndRecord, Field(discriminator="type")]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyRecord)


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class SampleLog:
    """Appends records to a JSONL file, one ``write`` per line on an unbuffered file, and keeps them in memory.

    ``secrets`` (the API key) are replaced by ``***`` in every line before it is written, as a last line of
    defence: nothing in a record should hold them in the first place.
    """

    def __init__(self, path: str | os.PathLike[str], *, secrets: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._secrets = tuple(s for s in secrets if s)
        self._file: IO[bytes] | None = self.path.open("wb", buffering=0)
        self.records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (a JSON-able dict with a ``type``)."""
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)
        if self._secrets:
            line = scrub(line, self._secrets)
        self.records.append(record)
        if self._file is not None:
            self._file.write((line + "\n").encode("utf-8"))

    def close(self) -> None:
        """Close the file (records stay readable in memory)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> SampleLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_samples(src: PathOrBuffer) -> tuple[list[dict[str, Any]], list[str]]:
    """Load and validate a samples file; returns (records as dicts, notes about what was skipped).

    A truncated last line (a run killed mid-write) is skipped with a note; any other bad line is an
    :class:`InputError` naming the line.
    """
    name = source_name(src)
    lines = read_text(src).splitlines()
    records: list[dict[str, Any]] = []
    notes: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            if number == len(lines):
                notes.append(f"{name}:{number}: truncated last line skipped (the run was killed mid-write)")
                continue
            raise InputError(
                f"{where(name, line=number)}: expected a JSON object per line, found {line[:80]!r}"
            ) from exc
        try:
            record = _ADAPTER.validate_python(obj)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise InputError(
                f"{where(name, line=number)}: {first['msg']} at key {loc!r}; expected a {SAMPLES_SCHEMA} record"
            ) from exc
        records.append(record.model_dump(by_alias=True))
    if not records or records[0].get("type") != "run":
        raise InputError(f"{name}: expected a 'run' record on the first line of a {SAMPLES_SCHEMA} file")
    return records, notes
