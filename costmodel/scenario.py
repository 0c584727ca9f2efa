"""What an analysis compares — a trace, the dedicated profiles, the serverless and GPU prices — and the bundled
scenario, defined here once.

The bundled scenario is what ``breakeven analyze`` runs with no options (README's main job): a real public
trace (the Azure 2023 code trace), a profile built from real measurements (Llama-3.1-8B-FP8 on 1×H100,
vLLM), and two serverless 8B prices and two H100 prices from the bundled catalog — the same model family on
every side. :func:`resolve_scenario` fills what a caller leaves out from it; :func:`default_inputs` gives it
as keyword arguments of :func:`costmodel.analyze.analyze` (for scripts that tweak one thing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from breakeven.errors import InputError
from costmodel.profiles import Profile, bundled_profile
from traces import Trace, load_trace
from traces.dataset import TraceDataset

DEFAULT_SCENARIO = "bundled-default"
DEFAULT_TRACE = "AzureLLMInferenceTrace_code.csv"
DEFAULT_PROFILE = "llama-3.1-8b-fp8_1xH100"
DEFAULT_SERVERLESS = ("digitalocean/llama3-8b-instruct", "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct")
DEFAULT_GPUS = ("digitalocean/gpu-h100-1x", "nebius/gpu-h100-1x")


@dataclass(frozen=True)
class Scenario:
    """The things compared: the trace, the dedicated profiles, and the price ids."""

    trace: Trace | TraceDataset
    profiles: tuple[Profile, ...]
    serverless_ids: tuple[str, ...]
    """Per-token prices compared."""
    gpu_ids: tuple[str, ...]
    """GPU prices every profile is paired with; empty: each profile's own ``gpu_price_id``."""
    name: str
    """The scenario's name in the report ('custom' unless given)."""


def bundled_trace_path() -> str:
    """Path of the bundled Azure 2023 code trace (package data)."""
    return str(resources.files("costmodel") / "data" / "traces" / DEFAULT_TRACE)


def bundled_trace() -> Trace:
    """The bundled Azure 2023 code trace, named as bundled (not by its install path) in reports."""
    trace = load_trace(bundled_trace_path())
    return dataclasses.replace(trace, meta=dataclasses.replace(trace.meta, source=f"bundled:{DEFAULT_TRACE}"))


def bundled_scenario() -> Scenario:
    """The bundled scenario (read from the package data each call)."""
    return Scenario(
        trace=bundled_trace(),
        profiles=(bundled_profile(DEFAULT_PROFILE),),
        serverless_ids=DEFAULT_SERVERLESS,
        gpu_ids=DEFAULT_GPUS,
        name=DEFAULT_SCENARIO,
    )


def default_inputs() -> dict[str, object]:
    """The bundled scenario as keyword arguments of :func:`costmodel.analyze.analyze`."""
    bundled = bundled_scenario()
    return {
        "trace": bundled.trace,
        "profiles": list(bundled.profiles),
        "serverless": list(bundled.serverless_ids),
        "gpus": list(bundled.gpu_ids),
        "scenario": bundled.name,
    }


def resolve_scenario(
    trace: Trace | TraceDataset | None,
    *,
    profiles: Sequence[Profile] | None,
    serverless: Sequence[str] | None,
    gpus: Sequence[str] | None,
    name: str | None,
) -> Scenario:
    """What to compare, from what the caller gave: nothing at all is the bundled scenario; otherwise the bundled
    trace and profile stand in for a missing trace or profile list, the profiles' own serverless prices (else
    the bundled ones) for missing serverless ids, and each profile's own GPU price for missing GPU ids."""
    if trace is None and profiles is None and serverless is None and gpus is None:
        return dataclasses.replace(bundled_scenario(), name=name or DEFAULT_SCENARIO)
    if trace is None:
        trace = bundled_trace()
    chosen = tuple(profiles) if profiles is not None else (bundled_profile(DEFAULT_PROFILE),)
    if not chosen:
        raise InputError("analyze: expected at least one dedicated profile (--profile)")
    named = [p.serverless_price_id for p in chosen if p.serverless_price_id]
    return Scenario(
        trace=trace,
        profiles=chosen,
        serverless_ids=tuple(serverless) if serverless else (tuple(dict.fromkeys(named)) or DEFAULT_SERVERLESS),
        gpu_ids=tuple(gpus or ()),
        name=name or "custom",
    )
