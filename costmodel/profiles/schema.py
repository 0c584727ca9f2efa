"""The measured-profile format (``llm-breakeven/profile/v1``): one deployment, measured.

A deployment is model x GPU x engine version x settings. A profile holds its cold start (end to end and by
phase), its KV-cache capacity, and a warm table: latency and throughput measured at several load levels.
Every profile records where its numbers came from (``provenance``).

Units are in the names: ``*_s`` seconds, ``*_ms`` milliseconds, ``*_gib`` GiB, ``*_tok_s`` tokens/second,
``request_s`` requests/second.

The JSON written by ``breakeven profile import`` / ``measure`` is ``Profile.model_dump(mode="json")``;
``schema`` is checked on load so that a future v2 can be told apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from costmodel.engine.arch import ModelArch
from costmodel.engine.gpu import GpuSpec
from costmodel.engine.steptime import Coefficients

PROFILE_SCHEMA: Final = "llm-breakeven/profile/v1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stat(_Strict):
    """A latency distribution summary [milliseconds]; any statistic may be unknown."""

    mean: float | None = Field(default=None, ge=0, description="Mean [ms].")
    p50: float | None = Field(default=None, ge=0, description="Median [ms].")
    p90: float | None = Field(default=None, ge=0, description="90th percentile [ms].")
    p99: float | None = Field(default=None, ge=0, description="99th percentile [ms].")

    def at(self, percentile: Literal["mean", "p50", "p90", "p99"]) -> float | None:
        """The statistic asked for, falling back to the nearest higher one that is known (conservative)."""
        order = ["mean", "p50", "p90", "p99"]
        start = order.index(percentile)
        for name in [*order[start:], *reversed(order[:start])]:
            value = getattr(self, name)
            if value is not None:
                return float(value)
        return None


class Phases(_Strict):
    """Cold-start phases read from the server log [seconds]; None = not in the log."""

    weights_download_s: float | None = Field(default=None, ge=0, description="Downloading weights to local disk.")
    weights_load_s: float | None = Field(default=None, ge=0, description="Loading weights into GPU memory.")
    dynamo_s: float | None = Field(default=None, ge=0, description="Dynamo bytecode transform.")
    compile_s: float | None = Field(default=None, ge=0, description="torch.compile in total.")
    cuda_graph_s: float | None = Field(default=None, ge=0, description="CUDA graph capture.")
    engine_init_s: float | None = Field(
        default=None, ge=0, description="init engine (profile, create KV cache, warmup model); includes compile."
    )
    api_server_s: float | None = Field(default=None, ge=0, description="API server start after engine init.")
    weights_gib: float | None = Field(default=None, ge=0, description="Size of the loaded weights [GiB].")


class ColdStart(_Strict):
    """How long a fresh replica takes to serve its first token."""

    total_s: float | None = Field(default=None, ge=0, description="Launch to first token [s], when measured.")
    ready_s: float | None = Field(default=None, ge=0, description="Launch to /health 200 [s], when measured.")
    samples_s: list[float] = Field(default_factory=list, description="Launch-to-first-token per restart [s].")
    phases: Phases = Field(default_factory=Phases, description="Breakdown from the server log.")
    failed: bool = Field(default=False, description="True when the log shows the engine failed to start.")
    failure: str | None = Field(default=None, description="The failure line, when failed.")

    def best_total_s(self) -> float | None:
        """Best estimate of launch → first token [s]: measured total, else median sample, else sum of phases."""
        if self.total_s is not None:
            return self.total_s
        if self.samples_s:
            ordered = sorted(self.samples_s)
            return ordered[len(ordered) // 2]
        p = self.phases
        parts = [p.weights_download_s, p.weights_load_s, p.engine_init_s, p.api_server_s]
        if p.engine_init_s is None:  # compile and graphs are inside engine init when it is logged
            parts += [p.compile_s, p.cuda_graph_s]
        known = [x for x in parts if x is not None]
        return float(sum(known)) if known else None


class MaxConcurrency(_Strict):
    """vLLM's 'Maximum concurrency for N tokens per request: Xx'."""

    value: float = Field(gt=0, description="Requests of that length that fit in the KV cache at once.")
    tokens_per_request: int = Field(gt=0, description="The request length N the figure is computed for.")


class WarmPoint(_Strict):
    """One measured load level of a warm server."""

    concurrency: float | None = Field(
        default=None, gt=0, description="Offered concurrency (requests in flight the client kept), if fixed."
    )
    request_rate: float | None = Field(
        default=None, gt=0, description="Offered request rate [req/s], if fixed; None with concurrency or 'inf'."
    )
    ttft_ms: Stat | None = Field(default=None, description="Time to first token [ms].")
    tpot_ms: Stat | None = Field(default=None, description="Time per output token after the first, per request [ms].")
    itl_ms: Stat | None = Field(default=None, description="Inter-token (inter-chunk) latency, pooled [ms].")
    e2e_ms: Stat | None = Field(default=None, description="End-to-end request latency [ms].")
    output_tok_s: float | None = Field(default=None, ge=0, description="Output tokens per second (all requests).")
    request_s: float | None = Field(default=None, ge=0, description="Completed requests per second.")
    input_tokens_mean: float | None = Field(default=None, ge=0, description="Mean input tokens per request.")
    output_tokens_mean: float | None = Field(default=None, ge=0, description="Mean output tokens per request.")
    requests: int | None = Field(default=None, ge=0, description="Completed requests.")
    failed: int | None = Field(default=None, ge=0, description="Failed requests.")
    duration_s: float | None = Field(default=None, ge=0, description="Wall time of the measured run [s].")
    valid: bool = Field(
        default=True, description="False when the run failed part-way and must not be read as a capacity point."
    )
    source: str | None = Field(default=None, description="File (and record) this point came from.")
    notes: str = Field(default="", description="Caveats, e.g. 'ITL is per streamed chunk'.")


class Engine(_Strict):
    """The serving engine."""

    name: str = Field(default="vllm", description="Engine name, e.g. 'vllm', or the API provider for serverless.")
    version: str | None = Field(default=None, description="Engine version, when known.")


class SourceRef(_Strict):
    """One input a profile was built from."""

    path: str = Field(description="File name or URL.")
    kind: str = Field(description="Importer used, e.g. 'vllm-log', 'vllm-bench', 'guidellm', 'live'.")
    tool: str | None = Field(default=None, description="Tool that wrote it, e.g. 'vllm bench serve'.")
    tool_version: str | None = Field(default=None, description="Tool version, when known.")
    date: str | None = Field(default=None, description="When it was measured (as the file states).")
    sha256: str | None = Field(default=None, description="Hash of the file's bytes.")


class Provenance(_Strict):
    """Where every number in the profile came from."""

    sources: list[SourceRef] = Field(default_factory=list, description="Files and measurements used.")
    created: datetime | None = Field(default=None, description="When this profile was assembled (UTC).")
    tool_version: str | None = Field(default=None, description="llm-breakeven version that assembled it.")
    notes: list[str] = Field(default_factory=list, description="Assumptions and caveats.")


class EngineSettings(_Strict):
    """The vLLM settings the replica simulator schedules with (vLLM's names)."""

    scheduler: Literal["v1", "v0"] = Field(
        default="v1", description="vLLM V1 (chunked prefill, decodes first) or V0 (prefill-first, vLLM ≤ 0.6)."
    )
    max_num_seqs: int = Field(default=256, ge=1, description="Most requests running at once.")
    max_num_batched_tokens: int = Field(default=8192, ge=1, description="Token budget of one step.")
    block_size: int = Field(default=16, ge=1, description="Tokens per KV-cache block.")
    kv_cache_tokens: int = Field(gt=0, description="KV-cache capacity [tokens].")
    kv_cache_source: Literal["log", "estimated", "given"] = Field(
        description="Where kv_cache_tokens comes from: a startup log, the memory estimate, or the user."
    )
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1, description="vLLM's --gpu-memory-utilization.")


class FitRow(_Strict):
    """Predicted against measured for one figure of one measured run."""

    run: str = Field(description="Measured run (file and load level).")
    window: str = Field(description="Span of arrivals scored (a stage, or the whole run).")
    metric: str = Field(description="ttft_mean_ms, ttft_p99_ms, tpot_mean_ms, e2e_mean_s or throughput_rps.")
    measured: float = Field(description="Measured value.")
    predicted: float | None = Field(description="Simulated value; None when the simulation had none.")
    error: float | None = Field(description="(predicted − measured) ÷ measured.")


class ReplicaModel(_Strict):
    """How the replica simulator models this deployment: architecture, GPU, engine settings, coefficients,
    and the error it carries."""

    arch: ModelArch = Field(description="The model's architecture.")
    gpu: GpuSpec = Field(description="The GPU's specification (copied from the catalog).")
    tp: int = Field(default=1, ge=1, description="Tensor-parallel degree (GPUs per replica).")
    weight_dtype: str = Field(default="bf16", description="Dtype of the served weights (bf16, fp8, fp4, ...).")
    kv_dtype: str = Field(default="bf16", description="Dtype of the KV cache.")
    engine: EngineSettings = Field(description="Scheduler and limits.")
    coefficients: Coefficients = Field(description="Step-time coefficients.")
    estimated: bool = Field(
        description="True when the coefficients are the defaults, not fitted to runs of this deployment."
    )
    calibrated_on: list[str] = Field(default_factory=list, description="Measured runs the coefficients were fitted to.")
    fit: list[FitRow] = Field(default_factory=list, description="Error of the model on those runs (in-sample).")
    expected_error: dict[str, float] = Field(
        default_factory=dict,
        description="Typical relative error to expect, by metric (median |error| on runs not fitted to: "
        "leave-one-run-out when calibrated, leave-one-model-out when estimated).",
    )
    notes: list[str] = Field(default_factory=list, description="Assumptions and caveats.")


class Profile(_Strict):
    """A measured deployment profile. See the module docstring for units."""

    schema_: Literal["llm-breakeven/profile/v1"] = Field(
        default=PROFILE_SCHEMA, alias="schema", description="Format id and version."
    )
    id: str = Field(description="Short name, e.g. 'llama-3.1-8b-fp8@1xH100'.")
    kind: Literal["dedicated", "serverless"] = Field(
        default="dedicated", description="A self-hosted deployment or a serverless API endpoint."
    )
    model: str = Field(description="Model served, e.g. 'neuralmagic/Meta-Llama-3.1-8B-FP8'.")
    gpu: str | None = Field(default=None, description="GPU model, e.g. 'H100'; None for serverless.")
    gpu_count: int = Field(default=1, ge=1, description="GPUs per replica (tensor x pipeline parallel).")
    engine: Engine = Field(default_factory=Engine, description="Serving engine and version.")
    settings: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, description="Server settings that shape the numbers, e.g. max_model_len."
    )
    gpu_price_id: str | None = Field(default=None, description="Catalog id of the GPU price this runs on.")
    serverless_price_id: str | None = Field(default=None, description="Catalog id of the per-token price (serverless).")
    cold_start: ColdStart | None = Field(default=None, description="Cold start, if measured.")
    kv_cache_tokens: int | None = Field(default=None, gt=0, description="KV-cache capacity [tokens].")
    max_concurrency: MaxConcurrency | None = Field(default=None, description="vLLM's max-concurrency figure.")
    warm: list[WarmPoint] = Field(default_factory=list, description="Measured load levels, by concurrency/rate.")
    replica_model: ReplicaModel | None = Field(
        default=None,
        description="The replica simulator's model of this deployment (breakeven profile calibrate/estimate); "
        "None in profiles made before it: their capacity then comes from the linear fit of the warm points.",
    )
    provenance: Provenance = Field(default_factory=Provenance, description="Where the numbers came from.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _sort_warm(self) -> Profile:
        self.warm.sort(key=lambda p: (p.concurrency or 0.0, p.request_rate or 0.0))
        return self

    def dump_json(self) -> str:
        """The profile as JSON text (the on-disk format)."""
        return self.model_dump_json(by_alias=True, indent=2, exclude_none=False)
