"""Checks an analysis makes on its inputs before any work: refuse what has no answer, warn on what looks wrong.

Each check is a small pure function that :func:`costmodel.analyze.analyze` (and the CLI, earlier where it
can) calls; errors are :class:`~breakeven.errors.InputError`, warnings are strings ending in their code
(see :mod:`breakeven.plausibility`, accepted with ``BREAKEVEN_ACCEPT``).

- :func:`check_trace`: a trace with no duration (one request, or all at the same instant) has no monthly
  cost — every option would cost $0.00 — so it is refused; a trace shorter than a minute is extrapolated to
  a month with a warning that says by how much; a trace too big for the memory budget is refused.
- :func:`check_prices`: per-token and GPU prices in a wrong unit (warnings), and prices in different
  currencies compared without an exchange rate (refused: :func:`check_currencies`).
- :func:`profile_problem`: a dedicated profile the analysis cannot use (no usable warm point), said when
  the profile is shown or passed, not after the trace has been replayed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from breakeven.errors import InputError
from breakeven.plausibility import ANALYSIS_BYTES_PER_REQUEST, notice, require_requests
from costmodel.capacity import fit_replica_service
from costmodel.profiles import Profile
from costmodel.results import HOURS_PER_MONTH
from pricing.currency import comparison_currency
from pricing.models import GpuPrice, TokenPrice
from pricing.plausibility import price_warnings
from traces import Trace
from traces.dataset import TraceDataset

MIN_TRACE_S = 60.0
"""A trace shorter than this [s] is extrapolated to a month with a ``trace-short`` warning."""

MIN_SPAN_S = 1e-3
"""A trace must span at least this [s] to be scaled to a month at all (below it, a month is > 2.6e9 times it)."""


def check_trace(trace: Trace | TraceDataset) -> list[str]:
    """Refuse a trace an analysis cannot scale to a month; warn when it is very short (see module docstring)."""
    name = trace.meta.source or "<trace>"
    n = len(trace)
    if n == 0:
        raise InputError(f"{name}: no requests; expected a trace with requests spread over time")
    if isinstance(trace, TraceDataset):  # streamed partition by partition: no memory budget per request
        horizon = trace.last_arrival_s
    else:
        require_requests(n, where=name, what="analysing it", bytes_each=ANALYSIS_BYTES_PER_REQUEST)
        horizon = float(trace.df["arrival_s"].iloc[-1])
    if not horizon >= MIN_SPAN_S:
        count = "one request" if n == 1 else f"{n:,} requests, all within {horizon:.3g} s"
        raise InputError(
            f"{name}: the trace spans {horizon:.3g} s ({count}); expected requests spread over at least "
            f"{MIN_SPAN_S:g} s, which a monthly cost is scaled from (at 0 s every option would cost 0 a month)"
        )
    if horizon < MIN_TRACE_S:
        factor = HOURS_PER_MONTH * 3600.0 / horizon
        text = notice(
            "trace-short",
            f"{name}: the trace spans only {horizon:.3g} s ({n:,} requests); monthly costs scale it x{factor:,.0f} "
            "to 730 h; check the arrival unit (--time-unit) or use a trace of at least a minute",
        )
        return [text] if text else []
    return []


def check_currencies(
    prices: Sequence[TokenPrice | GpuPrice], *, exchange_rates: Mapping[str, float] | None = None
) -> str:
    """The one currency the compared ``prices`` share; prices in different currencies without a rate for
    each are refused (:func:`pricing.currency.comparison_currency` decides, naming entries and currencies)."""
    return comparison_currency(prices, exchange_rates=exchange_rates)


def check_prices(
    token_prices: Sequence[TokenPrice],
    gpu_prices: Sequence[GpuPrice],
    *,
    exchange_rates: Mapping[str, float] | None = None,
) -> list[str]:
    """Refuse mixed currencies without a rate; warn on every price that looks like a wrong unit."""
    prices: list[TokenPrice | GpuPrice] = [*token_prices, *dict.fromkeys(gpu_prices)]
    check_currencies(prices, exchange_rates=exchange_rates)
    return [w for price in prices for w in price_warnings(price)]


def profile_problem(profile: Profile) -> str | None:
    """Why ``profile`` cannot be analysed as a dedicated deployment, or None when it can (or is serverless)."""
    if profile.kind != "dedicated" or profile.replica_model is not None:
        return None
    try:
        fit_replica_service(profile)
    except InputError as exc:
        return str(exc)
    return None
