"""How long one engine step (one forward pass over a batch) takes: a roofline over what the step does.

A step of a vLLM V1 server runs ``n_dec`` decode rows (one new token each, attending to its context) and
zero or more prefill chunks (``c`` new prompt tokens after ``p`` already computed). From the model's
architecture and the GPU's specification (per GPU, after tensor parallelism shards the work):

- **bytes read**: the weights (dense layers and LM head; for a mixture of experts only the experts the
  step's tokens route to: ``E × (1 − (1 − k/E)^tokens)`` of them), the KV cache of every decode row's
  context and of every chunk's prefix, and the KV written for the new tokens;
- **FLOPs**: ``2 × active parameters`` per token (GEMMs, in the weights' dtype when the GPU computes in it),
  the LM head for every row that samples a token, and attention — ``4 × heads × head_dim`` per
  (query, key) pair: a decode row's context, a chunk's ``c × (p + c/2)`` causal pairs (in bf16);
- **communication** (TP > 1): two all-reduces per layer of the step's tokens × hidden size in bf16, each a
  fixed latency plus the ring's ``2 (t − 1)/t`` share of the bytes over the interconnect.

A layer runs its GEMMs (weights read once, FLOPs for every token) and then its attention (KV read, FLOPs
per query-key pair): two kernels one after the other, each against its own roofline. Within each, memory time
``Tm = bytes / (bandwidth × η)`` and compute time ``Tc = FLOPs / (peak × η_c)`` overlap, and the kernel takes
their p-norm ``(Tm^p + Tc^p)^(1/p)`` — ``p = ∞`` would be a pure roofline ``max``, ``p = 1`` a sum. On the
H200 microbenchmark (``benchmarks/fidelity.py`` fits it) neither extreme fits small prefills and mixed
steps; two rooflines with ``p ≈ 2.7`` fit its 150 shapes to 6.4 % (one joint roofline: 7.9 %). Weights and
KV get their own bandwidth efficiency (η_w, η_kv): paged attention and GEMMs read memory differently.
Fixed costs are added on top::

    step_s = ‖Tw, Tgemm‖p + ‖Tkv, Tattn‖p + T_allreduce + layers × layer_overhead + step_overhead
             + rows × seq_overhead

:class:`Coefficients` holds the efficiencies and overheads; ``profile calibrate`` fits them by replaying
measured runs in the simulator. Units: seconds inside, µs / ms in the coefficient names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from breakeven.errors import InputError
from costmodel.engine.arch import ModelArch
from costmodel.engine.gpu import DTYPE_BYTES, GpuSpec

FloatArray = npt.NDArray[np.float64]

#: Activations travel between GPUs in bf16.
_ACT_BYTES: Final = 2.0


class Coefficients(BaseModel):
    """The few numbers that turn the roofline into milliseconds. Defaults: see ``docs/fidelity.md``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bandwidth_efficiency: float = Field(
        default=0.90, gt=0, le=1.5, description="Share of peak HBM bandwidth reading the weights reaches (η_w)."
    )
    kv_bandwidth_efficiency: float = Field(
        default=0.90, gt=0, le=1.5, description="Share of peak HBM bandwidth reading the KV cache reaches (η_kv)."
    )
    compute_efficiency: float = Field(
        default=0.60, gt=0, le=1.5, description="Share of dense peak FLOP/s the GEMMs and attention reach (η_c)."
    )
    overlap_exponent: float = Field(
        default=2.7,
        ge=1,
        le=50,
        description="p of the p-norm joining memory and compute time (1 = sum, ∞ = max); from the H200 microbenchmark.",
    )
    layer_overhead_us: float = Field(
        default=0.0,
        ge=0,
        description="Fixed time per layer per step [µs]. The calibration runs cannot tell it from the per-step "
        "overhead (both calibrated models have 32 layers), so it is 0 and the per-step overhead carries it.",
    )
    step_overhead_us: float = Field(
        default=700.0, ge=0, description="Fixed time per step [µs]: scheduling, input preparation, sampling."
    )
    seq_overhead_us: float = Field(default=5.0, ge=0, description="Time per sequence in the step [µs].")
    api_overhead_ms: float = Field(
        default=3.0,
        ge=0,
        description="Client-side time outside the engine [ms]: HTTP, tokenization, detokenization and streaming; "
        "added to TTFT and end-to-end latency.",
    )
    allreduce_latency_us: float = Field(
        default=12.0, ge=0, description="Fixed latency of one all-reduce between tensor-parallel GPUs [µs]."
    )
    interconnect_efficiency: float = Field(
        default=0.7, gt=0, le=1, description="Share of the GPU-to-GPU link bandwidth an all-reduce reaches."
    )


@dataclass(frozen=True)
class Deployment:
    """What runs where: a model on ``tp`` GPUs of one kind, weights and KV cache in the given dtypes."""

    arch: ModelArch
    gpu: GpuSpec
    tp: int = 1
    weight_dtype: str = "bf16"
    kv_dtype: str = "bf16"

    def __post_init__(self) -> None:
        where = f"{self.arch.id} on {self.tp}× {self.gpu.name}"
        if self.tp < 1:
            raise InputError(f"{where}: --tp must be ≥ 1; found {self.tp}")
        if self.arch.heads % self.tp:
            raise InputError(
                f"{where}: tensor parallelism {self.tp} does not divide the {self.arch.heads} attention heads; "
                f"expected a TP degree that divides {self.arch.heads}"
            )
        for name, dtype in (("weight dtype", self.weight_dtype), ("KV-cache dtype", self.kv_dtype)):
            if dtype not in DTYPE_BYTES:
                raise InputError(f"{where}: unknown {name} {dtype!r}; expected one of {', '.join(DTYPE_BYTES)}")

    @property
    def kv_heads_per_gpu(self) -> int:
        """KV heads each GPU stores: split when there are at least ``tp`` of them, else replicated."""
        return max(self.arch.kv_heads // self.tp, 1)

    @property
    def kv_bytes_per_token(self) -> float:
        """KV-cache bytes one token takes on each GPU."""
        a = self.arch
        return 2 * a.layers * self.kv_heads_per_gpu * a.head_dim * DTYPE_BYTES[self.kv_dtype]

    @property
    def embedding_bytes(self) -> float:
        """Bytes per element of the embedding table and LM head: quantized checkpoints keep them in bf16."""
        return max(DTYPE_BYTES[self.weight_dtype], DTYPE_BYTES["bf16"])

    @property
    def weight_bytes_per_gpu(self) -> float:
        """Bytes of weights each GPU holds (the embedding table included; everything sharded by TP)."""
        a = self.arch
        edges = a.hidden * a.vocab * (1 if a.tie_embeddings else 2)
        return ((a.total_params - edges) * DTYPE_BYTES[self.weight_dtype] + edges * self.embedding_bytes) / self.tp

    def label(self) -> str:
        """E.g. 'llama-3.1-8b fp8 on 1× H100-SXM'."""
        return f"{self.arch.id} {self.weight_dtype} on {self.tp}× {self.gpu.name}"


@dataclass(frozen=True)
class StepShapes:
    """What a batch of steps did (arrays, one element per step); see :meth:`StepCost.step_s`."""

    n_dec: FloatArray
    dec_context: FloatArray
    prefill_tokens: FloatArray
    prefill_pairs: FloatArray
    prefill_prior: FloatArray
    rows: FloatArray
    sampled: FloatArray


@dataclass(frozen=True)
class RawSteps:
    """A batch of steps' roofline terms at 100 % efficiency and without overheads [s]."""

    weights_s: FloatArray
    gemm_s: FloatArray
    kv_s: FloatArray
    attention_s: FloatArray
    allreduce_bytes_s: FloatArray
    rows: FloatArray


class StepCost:
    """Step time of one deployment under one set of coefficients. Build once; call per step.

    ``step_s`` takes one step's aggregates (scalars); ``decode_run_s`` the times of a run of pure decode
    steps whose summed context grows by ``n_dec`` each step; ``raw`` and ``time`` split the roofline from
    the coefficients for many recorded steps at once (calibration re-times a run this way).
    """

    def __init__(self, deployment: Deployment, coefficients: Coefficients) -> None:
        self.deployment = deployment
        self.coefficients = coefficients
        a, g, t, c = deployment.arch, deployment.gpu, deployment.tp, coefficients
        wbytes = DTYPE_BYTES[deployment.weight_dtype]
        compute_dtype = deployment.weight_dtype if deployment.weight_dtype in g.tflops else "bf16"
        bw = g.hbm_bytes_s
        gemm = g.peak_flops(compute_dtype)
        attn = g.peak_flops("bf16")
        # Seconds per unit of each aggregate, per GPU, at 100 % efficiency.
        self._dense_weights_s = (
            (a.layers * (a.attention_params + a.dense_mlp_params) + a.lm_head_params) * wbytes / t / bw
        )
        self._expert_s = a.layers * a.expert_params * wbytes / t / bw if a.is_moe else 0.0
        self._experts = float(a.experts)
        self._route_miss = 1.0 - a.experts_per_token / a.experts if a.is_moe else 1.0
        self._kv_s = deployment.kv_bytes_per_token / bw
        self._token_flop_s = 2.0 * a.active_params_per_token / t / gemm
        self._lm_head_s = 2.0 * a.lm_head_params / t / gemm
        self._attn_pair_s = 4.0 * a.heads * a.head_dim * a.layers / t / attn
        self._layers = a.layers
        if t > 1:
            ring = 2.0 * (t - 1) / t
            self._allreduces = 2 * a.layers
            self._ar_token_raw_s = 2 * a.layers * a.hidden * _ACT_BYTES * ring / g.link_bytes_s
        else:
            self._allreduces = 0
            self._ar_token_raw_s = 0.0
        self._set(c)

    def _set(self, c: Coefficients) -> None:
        self._u = 1.0 / c.bandwidth_efficiency
        self._ukv = 1.0 / c.kv_bandwidth_efficiency
        self._v = 1.0 / c.compute_efficiency
        self._p = c.overlap_exponent
        self._fixed_s = (self._layers * c.layer_overhead_us + c.step_overhead_us) * 1e-6
        self._seq_s = c.seq_overhead_us * 1e-6
        self._ar_fixed_s = self._allreduces * c.allreduce_latency_us * 1e-6
        self._ar_token_s = self._ar_token_raw_s / c.interconnect_efficiency

    def with_coefficients(self, coefficients: Coefficients) -> StepCost:
        """The same deployment under other coefficients (shares the roofline constants)."""
        other = object.__new__(StepCost)
        other.__dict__.update(self.__dict__)
        other.coefficients = coefficients
        other._set(coefficients)
        return other

    def _weights_s(self, tokens: float | FloatArray) -> float | FloatArray:
        if not self._expert_s:
            return self._dense_weights_s
        touched = self._experts * (1.0 - self._route_miss ** np.asarray(tokens, dtype=np.float64))
        return self._dense_weights_s + self._expert_s * touched

    def step_s(
        self,
        n_dec: int,
        dec_context: float,
        *,
        prefill_tokens: float = 0.0,
        prefill_pairs: float = 0.0,
        prefill_prior: float = 0.0,
        prefill_rows: int = 0,
        sampled_rows: int | None = None,
    ) -> float:
        """Duration of one step [s].

        - ``n_dec`` decode rows whose contexts sum to ``dec_context`` tokens;
        - prefill chunks of ``prefill_tokens`` new tokens in all, ``prefill_pairs`` = Σ c × (p + c/2) causal
          attention pairs, ``prefill_prior`` = Σ p tokens of prefix they read, over ``prefill_rows`` requests;
        - ``sampled_rows`` rows run the LM head (default: every decode row and every prefill row).
        """
        tokens = n_dec + prefill_tokens
        if tokens <= 0:
            return 0.0
        rows = n_dec + prefill_rows
        sampled = rows if sampled_rows is None else sampled_rows
        p = self._p
        gemm = _pnorm(
            self._u * float(self._weights_s(tokens)),
            self._v * (self._token_flop_s * tokens + self._lm_head_s * sampled),
            p,
        )
        attn = _pnorm(
            self._ukv * self._kv_s * (dec_context + prefill_prior + tokens),
            self._v * self._attn_pair_s * (dec_context + prefill_pairs),
            p,
        )
        return gemm + attn + self._ar_fixed_s + self._ar_token_s * tokens + self._fixed_s + self._seq_s * rows

    def decode_step_s(self, n_dec: int, dec_context: float) -> float:
        """Duration of one pure decode step of ``n_dec`` rows whose contexts sum to ``dec_context`` [s]."""
        gemm = _pnorm(
            self._u * float(self._weights_s(float(n_dec))),
            self._v * (self._token_flop_s + self._lm_head_s) * n_dec,
            self._p,
        )
        attn = _pnorm(
            self._ukv * self._kv_s * (dec_context + n_dec), self._v * self._attn_pair_s * dec_context, self._p
        )
        return gemm + attn + self._ar_fixed_s + self._ar_token_s * n_dec + self._fixed_s + self._seq_s * n_dec

    def decode_run_s(self, n_dec: int, dec_context: FloatArray) -> FloatArray:
        """Durations of pure decode steps of ``n_dec`` rows at each summed context in ``dec_context`` [s]."""
        ctx = np.asarray(dec_context, dtype=np.float64)
        gemm = _pnorm(
            self._u * float(self._weights_s(float(n_dec))),
            self._v * (self._token_flop_s + self._lm_head_s) * n_dec,
            self._p,
        )
        attn = _pnorm_array(self._ukv * self._kv_s * (ctx + n_dec), self._v * self._attn_pair_s * ctx, self._p)
        fixed = self._ar_fixed_s + self._ar_token_s * n_dec + self._fixed_s + self._seq_s * n_dec
        return np.asarray(gemm + attn + fixed, dtype=np.float64)

    def raw(self, shapes: StepShapes) -> RawSteps:
        """The roofline terms of recorded steps at 100 % efficiency (no coefficient applied)."""
        tokens = shapes.n_dec + shapes.prefill_tokens
        return RawSteps(
            weights_s=np.broadcast_to(np.asarray(self._weights_s(tokens), dtype=np.float64), tokens.shape).copy(),
            gemm_s=self._token_flop_s * tokens + self._lm_head_s * shapes.sampled,
            kv_s=self._kv_s * (shapes.dec_context + shapes.prefill_prior + tokens),
            attention_s=self._attn_pair_s * (shapes.dec_context + shapes.prefill_pairs),
            allreduce_bytes_s=self._ar_token_raw_s * tokens,
            rows=shapes.rows,
        )

    def time(self, raw: RawSteps, coefficients: Coefficients | None = None) -> FloatArray:
        """Step durations [s] of :meth:`raw` steps under ``coefficients`` (default: this cost's)."""
        c = coefficients or self.coefficients
        p = c.overlap_exponent
        gemm = _pnorm_array(raw.weights_s / c.bandwidth_efficiency, raw.gemm_s / c.compute_efficiency, p)
        attn = _pnorm_array(raw.kv_s / c.kv_bandwidth_efficiency, raw.attention_s / c.compute_efficiency, p)
        fixed = (self._layers * c.layer_overhead_us + c.step_overhead_us + c.seq_overhead_us * raw.rows) * 1e-6
        comm = self._allreduces * c.allreduce_latency_us * 1e-6 + raw.allreduce_bytes_s / c.interconnect_efficiency
        return np.asarray(gemm + attn + fixed + np.where(raw.allreduce_bytes_s > 0, comm, 0.0), dtype=np.float64)

    def parts(self, n_dec: int, dec_context: float, prefill_tokens: float = 0.0) -> dict[str, float]:
        """One step's GEMM, attention, communication and fixed times [s], for explaining a figure."""
        tokens = n_dec + prefill_tokens
        weights = self._u * float(self._weights_s(tokens))
        flops = self._v * (self._token_flop_s * tokens + self._lm_head_s * n_dec)
        kv = self._ukv * self._kv_s * (dec_context + tokens)
        attn = self._v * self._attn_pair_s * dec_context
        return {
            "weights_s": weights,
            "gemm_flops_s": flops,
            "gemm_s": _pnorm(weights, flops, self._p),
            "kv_s": kv,
            "attention_flops_s": attn,
            "attention_s": _pnorm(kv, attn, self._p),
            "allreduce_s": self._ar_fixed_s + self._ar_token_s * tokens if tokens else 0.0,
            "fixed_s": self._fixed_s + self._seq_s * n_dec,
        }


def _pnorm(a: float, b: float, p: float) -> float:
    if p >= 50:
        return max(a, b)
    hi = max(a, b)
    if hi <= 0:
        return 0.0
    return hi * math.pow(math.pow(a / hi, p) + math.pow(b / hi, p), 1.0 / p)


def _pnorm_array(a: FloatArray, b: FloatArray, p: float) -> FloatArray:
    if p >= 50:
        return np.maximum(a, b)
    hi = np.maximum(np.maximum(a, b), 1e-300)
    return np.asarray(hi * ((a / hi) ** p + (b / hi) ** p) ** (1.0 / p), dtype=np.float64)
