"""Recognise an input file by its content (never by its name) and hand it to the right importer."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import ValidationError

from breakeven.errors import InputError, UnknownNameError
from breakeven.io import PathOrBuffer, read_bytes, source_name
from costmodel.profiles.importers.aiperf import is_aiperf, is_aiperf_csv, parse_aiperf, parse_aiperf_csv
from costmodel.profiles.importers.base import FormatName, ImportedPart, sha256_hex
from costmodel.profiles.importers.guidellm import is_guidellm, parse_guidellm
from costmodel.profiles.importers.llmperf import (
    is_llmperf_responses,
    is_llmperf_summary,
    parse_llmperf_responses,
    parse_llmperf_summary,
)
from costmodel.profiles.importers.prometheus import is_vllm_metrics, parse_vllm_metrics
from costmodel.profiles.importers.vllm_bench import is_vllm_bench_record, parse_vllm_bench
from costmodel.profiles.importers.vllm_log import looks_like_vllm_log, parse_vllm_log, part_from_log
from costmodel.profiles.schema import PROFILE_SCHEMA

#: Every format name, for ``--format`` and error messages.
FORMATS: tuple[str, ...] = get_args(FormatName)


@dataclass(frozen=True)
class _Importer:
    """How one format is recognised (``detect`` on the decoded JSON, or on the text) and read (``parse``,
    called as ``parse(payload, source=NAME, sha256=HEX)``)."""

    detect: Callable[[Any], bool]
    parse: Callable[..., ImportedPart]


def _is_vllm_bench(value: Any) -> bool:
    """One ``vllm bench serve`` result, or a list of them (JSON Lines of ``--append-result``)."""
    return is_vllm_bench_record(value) or (
        isinstance(value, list) and bool(value) and all(is_vllm_bench_record(v) for v in value)
    )


def _parse_vllm_log(text: str, *, source: str, sha256: str) -> ImportedPart:
    return part_from_log(parse_vllm_log(text, source=source), sha256=sha256)


#: JSON formats, tried in this order on the decoded document (a new JSON importer: one more line here).
_JSON_FORMATS: dict[FormatName, _Importer] = {
    "vllm-bench": _Importer(_is_vllm_bench, parse_vllm_bench),
    "guidellm": _Importer(is_guidellm, parse_guidellm),
    "aiperf": _Importer(is_aiperf, parse_aiperf),
    "llmperf-summary": _Importer(is_llmperf_summary, parse_llmperf_summary),
    "llmperf-responses": _Importer(is_llmperf_responses, parse_llmperf_responses),
}
#: Text formats, tried in this order on text that is not JSON.
_TEXT_FORMATS: dict[FormatName, _Importer] = {
    "aiperf-csv": _Importer(is_aiperf_csv, parse_aiperf_csv),
    "vllm-metrics": _Importer(is_vllm_metrics, parse_vllm_metrics),
    "vllm-log": _Importer(looks_like_vllm_log, _parse_vllm_log),
}


def _decode_json(text: str, name: str) -> tuple[bool, Any]:
    """(True, value) for JSON or JSON Lines text; (False, None) when it does not start like JSON.

    Text that starts like JSON but does not parse raises :class:`InputError` with the line and column.
    """
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return False, None
    try:
        return True, json.loads(stripped)
    except json.JSONDecodeError as first_error:
        lines = [(i, line) for i, line in enumerate(stripped.splitlines(), start=1) if line.strip()]
        if len(lines) < 2 or not all(line.lstrip().startswith("{") for _, line in lines):
            raise InputError(
                f"{name}:{first_error.lineno}: invalid JSON ({first_error.msg} at column {first_error.colno}); "
                "expected a complete JSON document (is the file cut short?)"
            ) from first_error
        records = []
        for line_no, line in lines:  # JSON Lines: vllm bench serve --append-result
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{name}:{line_no}: invalid JSON line ({exc.msg} at column {exc.colno}); expected one JSON object"
                ) from exc
        return True, records


def detect_format(text: str, *, name: str = "<input>") -> tuple[FormatName, Any]:
    """The format of ``text`` and its decoded payload (the JSON value, or the text itself).

    Raises :class:`InputError` naming the file when nothing matches.
    """
    try:
        is_json, value = _decode_json(text, name)
    except InputError:
        # "[2025-08-12T08:42:32Z] (EngineCore_0 ...)" starts like a JSON array: try the text formats first.
        if looks_like_vllm_log(text) or is_vllm_metrics(text):
            is_json, value = False, None
        else:
            raise
    if is_json:
        for fmt, importer in _JSON_FORMATS.items():
            if importer.detect(value):
                return fmt, value
        if isinstance(value, dict) and value.get("schema") == PROFILE_SCHEMA:
            raise InputError(f"{name}: this is already a profile ({PROFILE_SCHEMA}); use 'breakeven profile show'")
        raise InputError(
            f"{name}: JSON of an unknown kind; expected one of: vllm bench serve result, GuideLLM "
            "benchmarks.json, AIPerf/genai-perf export, llmperf summary or individual responses"
        )
    for fmt, importer in _TEXT_FORMATS.items():
        if importer.detect(text):
            return fmt, text
    raise InputError(
        f"{name}: format not recognised; expected a vLLM server log, benchmark result JSON "
        f"(vllm bench serve, GuideLLM, AIPerf/genai-perf, llmperf), an AIPerf CSV or a vLLM /metrics "
        f"scrape (formats: {', '.join(FORMATS)})"
    )


def parse_part(data: bytes, *, name: str, format: str | None = None) -> ImportedPart:
    """Bytes of one input file → an :class:`ImportedPart`, auto-detecting the format unless given."""
    try:
        return _parse_part(data, name=name, format=format)
    except ValidationError as exc:  # a value the importers passed through but the schema bounds refuse
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise InputError(f"{name}: {where or 'value'}: {first.get('msg')}, found {first.get('input')!r}") from exc


def _parse_part(data: bytes, *, name: str, format: str | None) -> ImportedPart:
    if format is not None and format not in FORMATS:
        raise UnknownNameError("format", format, FORMATS, context="option --format")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start}); expected a log, JSON or CSV file") from exc
    digest = sha256_hex(data)
    if format is None:
        fmt, payload = detect_format(text, name=name)
    else:
        fmt = format  # type: ignore[assignment]
        payload = text if fmt in _TEXT_FORMATS else _decode_json(text, name)[1]
    importer = _TEXT_FORMATS[fmt] if fmt in _TEXT_FORMATS else _JSON_FORMATS[fmt]
    return importer.parse(payload, source=name, sha256=digest)


def read_part(src: PathOrBuffer, *, format: str | None = None) -> ImportedPart:
    """Read one input (path or file-like) into an :class:`ImportedPart`; the format is detected by content."""
    return parse_part(read_bytes(src), name=source_name(src), format=format)
