"""How many tokens of KV cache a server has: from its startup log when known, else from GPU memory.

vLLM gives the KV cache what is left of ``gpu_memory_utilization × GPU memory`` after the weights and the
peak activation memory of a profiling forward pass of ``max_num_batched_tokens`` tokens (plus CUDA graphs
and memory outside PyTorch). The estimate here::

    kv_tokens = (utilization × memory − weights − reserve) ÷ KV bytes per token   (per GPU)
    reserve   = 0.5 GiB + max_num_batched_tokens × (8 × hidden + 2 × intermediate ÷ TP) × 2 bytes

Checked against the two startup figures of the calibration data (H100 80 GB, utilization 0.9): Llama-2-7B
TP 1 reserves 0.77 GiB (estimate 0.71) and Mixtral-8x7B TP 2 1.2 GiB (estimate 0.68); the resulting KV
sizes are within 1 % and 2 % of the logged 119,392 and 440,160 tokens. A log's figure always wins.
"""

from __future__ import annotations

from typing import Final

from breakeven.errors import InputError
from costmodel.engine.steptime import Deployment

_GIB: Final = 2**30
_BASE_RESERVE_GIB: Final = 0.5


def estimate_kv_cache_tokens(
    deployment: Deployment, *, gpu_memory_utilization: float = 0.9, max_num_batched_tokens: int = 8192
) -> int:
    """KV-cache capacity [tokens] of ``deployment`` (see the module docstring).

    Raises :class:`InputError` when the weights alone do not fit the memory vLLM may use.
    """
    if not 0 < gpu_memory_utilization <= 1:
        raise InputError(f"gpu_memory_utilization: expected a share in (0, 1]; found {gpu_memory_utilization!r}")
    a = deployment.arch
    usable = gpu_memory_utilization * deployment.gpu.memory_gib * _GIB
    weights = deployment.weight_bytes_per_gpu
    activations = max_num_batched_tokens * (8 * a.hidden + 2 * a.intermediate / deployment.tp) * 2
    free = usable - weights - _BASE_RESERVE_GIB * _GIB - activations
    if free <= 0:
        raise InputError(
            f"{deployment.label()}: the weights ({weights / _GIB:,.1f} GiB per GPU) do not leave room for a KV cache "
            f"in {gpu_memory_utilization:.0%} of {deployment.gpu.memory_gib:g} GiB; expected a larger --tp, a "
            "smaller dtype or a GPU with more memory"
        )
    return int(free // deployment.kv_bytes_per_token)
