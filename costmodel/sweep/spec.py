"""The sweep spec: a TOML file naming a trace and the lists to cross (see docs/sweep.md).

::

    name = "h100-offers"                       # optional label
    trace = "requests.parquet"                 # a file, a dataset folder, "bundled", or a synthetic spec
    gpu = ["digitalocean/gpu-h100-1x", "nebius/gpu-h100-1x"]
    serverless = ["deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct"]
    profile = ["llama-3.1-8b-fp8_1xH100"]     # profile JSON files or bundled names
    policy = ["utilization:min=1,max=8", "fixed:2"]
    growth = [1, 2, 5]                         # traffic multipliers (the trace's rate × growth)
    tier = ["on_demand", "spot"]
    slo_ttft_ms = [600]
    slo_tpot_ms = [60]

    [options]                                  # the same for every cell
    hybrid = false                             # the expensive searches, off for this sweep
    trace_breakeven = false
    samples = 0                                # Monte Carlo draws of the uncertainty band

    [report]
    axes = ["growth", "gpu"]                   # the two axes of the winner heatmaps (x, y)

Every list is an *axis*; the sweep runs one ``analyze`` per element of their cross product (a *cell*). An
axis left out takes analyze's default. Paths are relative to the spec file. :func:`load_spec` parses and
validates the file's shape; :func:`resolve` checks every id, file and policy against the catalog and the
disk, so that a bad spec fails before any work starts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from breakeven.errors import InputError, UnknownNameError
from costmodel.analyze import DEFAULT_GPUS, DEFAULT_PROFILE, DEFAULT_SERVERLESS
from costmodel.finance import parse_commitment
from costmodel.policy import parse_policy
from costmodel.profiles import Profile, profile_from_path_or_name
from costmodel.results import AutoscalePolicy
from pricing import Catalog, GpuPrice, load_catalog
from traces.spec import KIND_KEYS

Tier = Literal["on_demand", "reserved", "spot"]

AXES: tuple[str, ...] = (
    "gpu",
    "serverless",
    "profile",
    "policy",
    "growth",
    "tier",
    "slo_ttft_ms",
    "slo_tpot_ms",
)
"""The spec's list keys, in the order cells are enumerated and columns written."""

DEFAULT_POLICY = "utilization:min=1,max=8"


class TraceSpec(BaseModel):
    """The trace every cell replays (before its growth factor)."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(default=None, description="Trace file or dataset folder (relative to the spec).")
    synthetic: str | None = Field(default=None, description="A synthetic spec, e.g. 'poisson:rate=2,duration=1h,...'.")
    bundled: bool = Field(default=False, description="The bundled Azure 2023 code trace.")
    format: str | None = Field(default=None, description="Force the file format (as `--format`).")
    columns: str | None = Field(default=None, description="Column mapping KEY=COLUMN,... (as `--columns`).")
    time_unit: str | None = Field(default=None, description="Unit of the arrival column (as `--time-unit`).")
    seed: int = Field(default=0, description="Seed of a synthetic trace.")


class SweepOptions(BaseModel):
    """Settings shared by every cell (not crossed)."""

    model_config = ConfigDict(extra="forbid")

    hybrid: bool = Field(default=True, description="Search the hybrid split (dedicated base + overflow).")
    trace_breakeven: bool = Field(default=True, description="Find the trace-shaped break-even (the slowest step).")
    samples: int = Field(default=0, ge=0, description="Monte Carlo draws of the uncertainty band (0: none).")
    seed: int = Field(default=0, description="Seed of every random draw.")
    today: date | None = Field(default=None, description="Date prices are judged stale against (default: today).")
    prices: list[str] = Field(default_factory=list, description="Price files layered on the bundled catalog.")
    percentile: Literal["mean", "p50", "p90", "p99"] = Field(default="p90", description="SLO planning percentile.")
    slo_target: float = Field(default=0.9, gt=0, le=1, description="Share of requests that must meet the SLO.")
    serverless_profile: str | None = Field(default=None, description="Serverless latency profile (file or name).")
    cold_start_s: float | None = Field(default=None, ge=0, description="Override every profile's cold start [s].")
    output_tokens: list[float] = Field(default=[30, 220, 1200], description="Output lengths of the break-even table.")
    commitment: str = Field(
        default="none", description="Committed replicas per cell: 'none' (default), 'auto' (planned) or a count."
    )
    spot: bool = Field(default=False, description="Price each cell's fleet on spot too, preemptions included.")

    @field_validator("commitment")
    @classmethod
    def _commitment(cls, value: str) -> str:
        parse_commitment(value)  # 'auto', 'none' or a count; a clear error before any cell runs
        return value.strip().lower()


class ReportOptions(BaseModel):
    """How sweep.html is drawn."""

    model_config = ConfigDict(extra="forbid")

    axes: list[str] | None = Field(
        default=None, description="The heatmaps' x and y axes (default: the two longest axes)."
    )


class SweepSpec(BaseModel):
    """A sweep spec as written in TOML (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="A label for the sweep (default: the spec's file name).")
    trace: str | TraceSpec | None = Field(
        default=None,
        description="A path, 'bundled', a synthetic spec string, or a table (default: the bundled trace).",
    )
    gpu: list[str] | None = Field(default=None, description="GPU price ids.")
    serverless: list[str] | None = Field(default=None, description="Per-token price ids.")
    profile: list[str] | None = Field(default=None, description="Dedicated profiles (JSON files or bundled names).")
    policy: list[str] | None = Field(default=None, description="Fleet policies, e.g. 'utilization:min=0,max=4'.")
    growth: list[float] | None = Field(default=None, description="Traffic growth factors (rate multipliers).")
    tier: list[Tier] | None = Field(default=None, description="GPU price tiers.")
    slo_ttft_ms: list[float] | None = Field(default=None, description="Time-to-first-token targets [ms].")
    slo_tpot_ms: list[float] | None = Field(default=None, description="Time-per-output-token targets [ms].")
    options: SweepOptions = Field(default_factory=SweepOptions)
    report: ReportOptions = Field(default_factory=ReportOptions)


@dataclass(frozen=True)
class Cell:
    """One analysis of the sweep: a value on every axis, and a stable id (for resuming)."""

    id: str
    gpu: str
    serverless: str
    profile: str
    policy: str
    growth: float
    tier: Tier
    slo_ttft_ms: float
    slo_tpot_ms: float

    def inputs(self) -> dict[str, Any]:
        """The axis values by name (the input columns of sweep.parquet)."""
        return {axis: getattr(self, axis) for axis in AXES}


@dataclass(frozen=True)
class Skipped:
    """A cell that is not run, and why (e.g. the GPU price has no spot rate)."""

    cell: Cell
    reason: str


@dataclass(frozen=True)
class SweepInputs:
    """What the spec names and every cell reads: the price catalog, the profiles and policies by id, and the
    serverless profile."""

    catalog: Catalog
    profiles: dict[str, Profile]
    policies: dict[str, AutoscalePolicy]
    serverless_profile: Profile | None


@dataclass(frozen=True)
class ResolvedSweep:
    """A checked spec: every id found, every file read, and the cells to run."""

    name: str
    spec: SweepSpec
    base: Path
    trace: TraceSpec
    inputs: SweepInputs
    axes: dict[str, list[Any]]
    """Every axis with its values (defaults filled in); the crossed ones have more than one value."""
    cells: list[Cell]
    skipped: list[Skipped]
    context_key: str
    """A hash of everything that is the same for every cell (trace, options, price files): cells are only
    resumed from a folder whose context matches."""

    @property
    def crossed(self) -> list[str]:
        """The axes the spec actually varies (more than one value)."""
        return [a for a in AXES if len(self.axes[a]) > 1]


# ---------------------------------------------------------------------------------------------- loading


def load_spec(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and validate a sweep spec file (TOML); a bad file raises :class:`InputError` naming the key."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{file}: sweep spec not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{file}: cannot read the sweep spec ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{file}: not valid TOML ({exc}); expected a sweep spec (see docs/sweep.md)") from exc
    return parse_spec(data, source=str(file))


def parse_spec(data: dict[str, Any], *, source: str = "<spec>") -> SweepSpec:
    """Validate a spec already parsed from TOML (a dict)."""
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("str", "TraceSpec")))
        if err["type"] == "extra_forbidden":
            raise UnknownNameError(
                "sweep spec key",
                loc,
                [*SweepSpec.model_fields, *(f"options.{k}" for k in SweepOptions.model_fields)],
                context=source,
            ) from exc
        found = err.get("input")
        shown = repr(found) if not isinstance(found, dict) else "a table"
        raise InputError(f"{source}: key {loc!r}: {err['msg'].lower()}; found {shown[:80]}") from exc
    for axis in AXES:
        values = getattr(spec, axis)
        if values is not None and not values:
            raise InputError(f"{source}: key {axis!r}: expected at least one value, found an empty list")
        if values is not None and len(set(map(str, values))) != len(values):
            raise InputError(f"{source}: key {axis!r}: expected distinct values, found duplicates in {values}")
    for axis in ("growth", "slo_ttft_ms", "slo_tpot_ms"):
        for value in getattr(spec, axis) or []:
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"{source}: key {axis!r}: expected positive finite numbers, found {value!r}")
    axes = spec.report.axes
    if axes is not None:
        if len(axes) != 2 or axes[0] == axes[1]:
            raise InputError(f"{source}: key 'report.axes': expected two different axis names, found {axes}")
        for axis in axes:
            if axis not in AXES:
                raise UnknownNameError("heatmap axis", axis, AXES, context=f"{source}: key 'report.axes'")
    return spec


# -------------------------------------------------------------------------------------------- resolving


def trace_spec(spec: SweepSpec) -> TraceSpec:
    """The ``trace`` key as a table: a string is a synthetic spec when it starts with a synthetic kind
    (``poisson:``, ``bursty:``, ...), ``bundled`` for the bundled trace, else a path."""
    value = spec.trace
    if value is None:
        return TraceSpec(bundled=True)
    if isinstance(value, TraceSpec):
        given = [k for k in ("path", "synthetic") if getattr(value, k)] + (["bundled"] if value.bundled else [])
        if len(given) != 1:
            raise InputError(
                f"key 'trace': expected exactly one of path, synthetic or bundled, found {given or 'none'}"
            )
        return value
    text = value.strip()
    if text.lower() == "bundled":
        return TraceSpec(bundled=True)
    kind = text.partition(":")[0].strip().lower()
    if ":" in text and kind in KIND_KEYS:
        return TraceSpec(synthetic=text)
    return TraceSpec(path=text)


def resolve(spec: SweepSpec, *, base: str | os.PathLike[str] = ".", name: str | None = None) -> ResolvedSweep:
    """Check every id, file and policy of ``spec`` and enumerate its cells (paths relative to ``base``).

    Raises :class:`InputError` / :class:`UnknownNameError` naming the key and the bad value; nothing is
    analysed yet. Cells whose GPU price has no rate for their tier are returned as ``skipped``.
    """
    root = Path(base)
    opts = spec.options
    trace = trace_spec(spec)
    if trace.path is not None:
        trace = trace.model_copy(update={"path": str(_rel(root, trace.path))})
        if not Path(trace.path).exists():  # type: ignore[arg-type]
            raise InputError(f"key 'trace': file or folder not found: {trace.path}")
    price_files = [str(_rel(root, p)) for p in opts.prices]
    for p in price_files:
        if not Path(p).is_file():
            raise InputError(f"key 'options.prices': price file not found: {p}")
    catalog = load_catalog(price_files)
    axes: dict[str, list[Any]] = {
        "gpu": list(spec.gpu or DEFAULT_GPUS[:1]),
        "serverless": list(spec.serverless or DEFAULT_SERVERLESS[:1]),
        "profile": list(spec.profile or [DEFAULT_PROFILE]),
        "policy": list(spec.policy or [DEFAULT_POLICY]),
        "growth": [float(g) for g in spec.growth or [1.0]],
        "tier": list(spec.tier or ["on_demand"]),
        "slo_ttft_ms": [float(v) for v in spec.slo_ttft_ms or [600.0]],
        "slo_tpot_ms": [float(v) for v in spec.slo_tpot_ms or [60.0]],
    }
    gpus: dict[str, GpuPrice] = {}
    for gid in axes["gpu"]:
        gpus[gid] = _known(catalog.gpu, gid, "gpu")
    for sid in axes["serverless"]:
        _known(catalog.token, sid, "serverless")
    profiles = {p: _profile(root, p, "profile") for p in axes["profile"]}
    for key, profile in profiles.items():
        if profile.kind != "dedicated":
            raise InputError(
                f"key 'profile': {key!r} is a {profile.kind} profile; expected a dedicated deployment "
                "(give serverless ones as options.serverless_profile)"
            )
    policies = {}
    for text in axes["policy"]:
        policies[text] = parse_policy(text, option="key 'policy'")
    serverless_profile = None
    if opts.serverless_profile:
        serverless_profile = _profile(root, opts.serverless_profile, "options.serverless_profile")
    context = {
        "trace": trace.model_dump(),
        "trace_stamp": _stamp(trace.path),
        "options": opts.model_dump(mode="json"),
        "prices": [(p, _stamp(p)) for p in price_files],
        "profiles": {k: v.model_dump_json() for k, v in profiles.items()},
    }
    context_key = _digest(context)
    cells: list[Cell] = []
    skipped: list[Skipped] = []
    for values in itertools.product(*(axes[a] for a in AXES)):
        named = dict(zip(AXES, values, strict=True))
        cell = Cell(id=_digest([context_key, named])[:16], **named)
        try:
            gpus[cell.gpu].hourly_for(cell.tier)
        except ValueError:
            skipped.append(Skipped(cell, f"{cell.gpu} has no {cell.tier.replace('_', '-')} price in the catalog"))
            continue
        cells.append(cell)
    return ResolvedSweep(
        name=name or spec.name or "sweep",
        spec=spec,
        base=root,
        trace=trace,
        inputs=SweepInputs(catalog, profiles, policies, serverless_profile),
        axes=axes,
        cells=cells,
        skipped=skipped,
        context_key=context_key,
    )


def _rel(root: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else root / p


def _known(lookup: Any, value: str, key: str) -> Any:
    try:
        return lookup(value)
    except UnknownNameError as exc:
        raise UnknownNameError(exc.kind, exc.name, exc.choices, context=f"key {key!r}") from exc


def _profile(root: Path, value: str, key: str) -> Profile:
    candidate = _rel(root, value)
    try:
        return profile_from_path_or_name(candidate if candidate.exists() else value)
    except InputError as exc:
        raise InputError(f"key {key!r}: {exc}") from exc


def _stamp(path: str | None) -> list[float] | None:
    """Size and modification time of a file (or of a folder's files): a changed trace is a new context."""
    if path is None:
        return None
    p = Path(path)
    files = sorted(p.rglob("*")) if p.is_dir() else [p]
    return [float(sum(f.stat().st_size for f in files if f.is_file())), max(f.stat().st_mtime for f in files)]


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
