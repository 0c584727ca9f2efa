"""Break-even between per-token serverless prices and hourly GPU prices.

The closed form is the seed article's formula::

    break-even requests/hour = GPU $/hour ÷ (input_tokens × p_in + output_tokens × p_out)

with ``p_in`` and ``p_out`` in $/token (the catalog stores $/1M tokens).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

TOKENS_PER_M = 1_000_000.0


def cost_per_request_usd(
    input_tokens: float | npt.ArrayLike,
    output_tokens: float | npt.ArrayLike,
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
) -> npt.NDArray[np.float64]:
    """Serverless cost of one request [USD] (vectorised over token counts)."""
    tokens_in = np.asarray(input_tokens, dtype=np.float64)
    tokens_out = np.asarray(output_tokens, dtype=np.float64)
    return (tokens_in * input_usd_per_mtok + tokens_out * output_usd_per_mtok) / TOKENS_PER_M


def closed_form_breakeven_rps(
    gpu_hourly_usd: float,
    input_tokens: float | npt.ArrayLike,
    output_tokens: float | npt.ArrayLike,
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
) -> npt.NDArray[np.float64]:
    """Mean request rate [req/s] at which one always-on GPU instance costs the same as serverless.

    Returns ``inf`` where a request costs nothing on serverless (dedicated never wins).
    """
    per_request = cost_per_request_usd(input_tokens, output_tokens, input_usd_per_mtok, output_usd_per_mtok)
    with np.errstate(divide="ignore"):
        per_hour = np.where(per_request > 0, gpu_hourly_usd / np.where(per_request > 0, per_request, 1.0), np.inf)
    return per_hour / 3600.0
