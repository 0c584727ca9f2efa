"""Merge the parts read from several files into one :class:`~costmodel.profiles.schema.Profile`.

- Warm points from every file form one table, sorted by concurrency (then rate); points at the same
  load level are kept side by side, each with its ``source``.
- Cold start comes from the vLLM logs: every start in every log is a restart of the same deployment and
  the phases are their medians (:func:`~costmodel.profiles.importers.vllm_log.combine_runs`). A log gives
  ``ready_s`` at best: launch → first token (``total_s``) is not in any log and stays unset.
- Identity (model, engine, GPU count, settings) comes from the files, overridable by the caller; files
  that name different models are refused unless a model name is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from os import PathLike
from typing import Literal, TypedDict, Unpack

from breakeven import __version__
from breakeven.errors import InputError
from breakeven.io import PathOrBuffer
from costmodel.profiles.importers.base import ImportedPart, LogRun
from costmodel.profiles.importers.detect import read_part
from costmodel.profiles.importers.vllm_log import combine_runs
from costmodel.profiles.schema import ColdStart, Engine, MaxConcurrency, Profile, Provenance

SettingValue = str | int | float | bool | None


def default_profile_id(model: str, gpu: str | None, gpu_count: int) -> str:
    """``'<model basename>@<count>x<gpu>'``, or the model basename when no GPU is named."""
    short = model.rstrip("/").rsplit("/", 1)[-1]
    return f"{short}@{gpu_count}x{gpu}" if gpu else short


def _cold_start(parts: Sequence[ImportedPart], notes: list[str]) -> ColdStart | None:
    runs: list[LogRun] = [run for part in parts for run in part.runs]
    for part in parts:
        for i, run in enumerate(part.runs):
            where = f"{part.source.path} (start {i + 1}, line {run.first_line})"
            notes.extend(f"{where}: {note}" for note in run.notes)
            if run.extras:
                figures = ", ".join(f"{k}={v:g}" for k, v in sorted(run.extras.items()))
                notes.append(f"{where}: other log figures: {figures}")
    chosen, how = combine_runs(runs)
    notes.extend(how)
    if chosen is None:
        return None
    phases = chosen.phases
    if phases.compile_s is None and chosen.init_compilation_s is not None:
        phases = phases.model_copy(update={"compile_s": chosen.init_compilation_s})
        notes.append("compile_s is the '(compilation: X s)' figure of the init-engine line")
    missing = [k for k in ("weights_load_s", "engine_init_s") if getattr(phases, k) is None]
    if missing and not chosen.failed:
        notes.append(
            f"the log does not show {' and '.join(missing)}: a cold-start estimate summed from the logged "
            "phases is a lower bound"
        )
    notes.append(
        "cold start from server logs: phases only; launch → first token (total_s) is not in a log, and "
        "ready_s (when present) misses the Python start-up before the first log line"
    )
    return ColdStart(
        ready_s=chosen.ready_s,
        phases=phases,
        failed=chosen.failed,
        failure=chosen.failure,
    )


def _one(values: Iterable[str | None], what: str, notes: list[str]) -> str | None:
    distinct = list(dict.fromkeys(v for v in values if v))
    if len(distinct) > 1:
        notes.append(f"inputs give several {what}s ({', '.join(distinct)}); using {distinct[-1]!r}")
    return distinct[-1] if distinct else None


def build_profile(
    parts: Sequence[ImportedPart],
    *,
    profile_id: str | None = None,
    model: str | None = None,
    kind: Literal["dedicated", "serverless"] = "dedicated",
    gpu: str | None = None,
    gpu_count: int | None = None,
    engine: str | None = None,
    engine_version: str | None = None,
    gpu_price_id: str | None = None,
    serverless_price_id: str | None = None,
    settings: Mapping[str, SettingValue] | None = None,
    notes: Sequence[str] = (),
    created: datetime | None = None,
) -> Profile:
    """One :class:`Profile` from the parts read from one or more files (see the module docstring)."""
    if not parts:
        raise InputError("no input files; expected at least one log or benchmark result")
    merge_notes: list[str] = []
    models = {p.model: p.source.path for p in parts if p.model}
    if model is None:
        if len(models) > 1:
            listed = "; ".join(f"{m} ({src})" for m, src in models.items())
            raise InputError(f"the inputs describe different models: {listed}; import them separately or pass --model")
        if not models:
            raise InputError("no model name in the inputs; pass --model")
        model = next(iter(models))
    elif models and set(models) != {model}:
        merge_notes.append(f"model named {model!r} by the caller; the files say {', '.join(models)}")
    merged_settings: dict[str, SettingValue] = {}
    for part in parts:
        for key, value in part.settings.items():
            if key in merged_settings and merged_settings[key] != value:
                merge_notes.append(
                    f"setting {key}: {merged_settings[key]!r} and {value!r} in the inputs; using {value!r}"
                )
            merged_settings[key] = value
    merged_settings.update(settings or {})
    count = gpu_count or next((p.gpu_count for p in parts if p.gpu_count), None) or 1
    cold = _cold_start(parts, merge_notes)
    kv_values = [p.kv_cache_tokens for p in parts if p.kv_cache_tokens]
    kv_tokens = min(kv_values) if kv_values else None
    if len(set(kv_values)) > 1:
        merge_notes.append(
            f"KV-cache sizes differ across inputs ({', '.join(map(str, kv_values))}); using the smallest"
        )
    max_conc: MaxConcurrency | None = next((p.max_concurrency for p in parts if p.max_concurrency), None)
    part_notes = [note for part in parts for note in part.notes]
    version = engine_version or _one((p.engine_version for p in parts), "engine version", merge_notes)
    engine_name = engine or _one((p.engine_name for p in parts), "engine name", merge_notes) or "unknown"
    return Profile(
        id=profile_id or default_profile_id(model, gpu, count),
        kind=kind,
        model=model,
        gpu=gpu,
        gpu_count=count,
        engine=Engine(name=engine_name, version=version),
        settings=merged_settings,
        gpu_price_id=gpu_price_id,
        serverless_price_id=serverless_price_id,
        cold_start=cold,
        kv_cache_tokens=kv_tokens,
        max_concurrency=max_conc,
        warm=[point for part in parts for point in part.warm],
        provenance=Provenance(
            sources=[p.source for p in parts],
            created=created or datetime.now(UTC),
            tool_version=__version__,
            notes=[*notes, *part_notes, *merge_notes],
        ),
    )


class ProfileIdentity(TypedDict, total=False):
    """The keywords of :func:`import_profile` that it hands to :func:`build_profile` (see there)."""

    profile_id: str | None
    model: str | None
    kind: Literal["dedicated", "serverless"]
    gpu: str | None
    gpu_count: int | None
    engine: str | None
    engine_version: str | None
    gpu_price_id: str | None
    serverless_price_id: str | None
    settings: Mapping[str, SettingValue] | None
    notes: Sequence[str]
    created: datetime | None


def import_profile(
    sources: PathOrBuffer | Sequence[PathOrBuffer],
    *,
    format: str | None = None,  # mirrors the --format option
    **identity: Unpack[ProfileIdentity],
) -> Profile:
    """Read one or more files (paths or file-like objects; formats detected by content) into one profile.

    The other keywords are :func:`build_profile`'s; ``format`` forces one input format for every file.
    """
    items = [sources] if isinstance(sources, str | PathLike) or not isinstance(sources, Sequence) else list(sources)
    parts = [read_part(src, format=format) for src in items]
    return build_profile(parts, **identity)
