"""What every step of :func:`costmodel.analyze.analyze` reads: the trace with the rules every option is judged by
(:class:`Case`), one dedicated deployment (:class:`Pair`), and the head of a long trace that searches run on
(:func:`head`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from costmodel.capacity import ReplicaCapacity
from costmodel.profiles import Profile
from costmodel.results import AutoscalePolicy, Slo
from costmodel.service import ReplicaService
from pricing import GpuPrice, TokenPrice
from traces import Trace
from traces.dataset import TraceDataset
from traces.summary_model import TraceSummary

Tier = Literal["on_demand", "reserved", "spot"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Rules:
    """What every option is judged and billed by."""

    slo: Slo
    policy: AutoscalePolicy
    """The dedicated fleet's autoscaling policy."""
    tier: Tier
    """GPU price tier of the dedicated fleets."""
    search_requests: int
    """The searches (hybrid split, trace-shaped break-even, commitment planner, storage what-if) replay the
    trace's first this-many requests; every option's bill covers the whole trace."""


@dataclass(frozen=True)
class Case(Rules):
    """The rules, with the trace under analysis and its summary."""

    trace: Trace | TraceDataset
    summary: TraceSummary
    horizon_s: float
    """End of the billing window [s]: the last arrival (replays bill [0, last arrival]; monthly figures scale
    that window to 730 hours)."""

    @property
    def mean_in(self) -> float:
        """Mean input tokens per request."""
        return self.summary.input_tokens_mean

    @property
    def mean_out(self) -> float:
        """Mean output tokens per request."""
        return self.summary.output_tokens_mean

    @property
    def user_rps(self) -> float:
        """The trace's mean request rate [req/s]."""
        return self.summary.mean_rps


@dataclass(frozen=True)
class Pair:
    """One dedicated deployment: a measured profile on a priced GPU instance, with its replica model."""

    profile: Profile
    gpu: GpuPrice
    fit: ReplicaCapacity
    cold_start_s: float
    cold_start_source: str
    """'measured', 'given' or 'assumed'."""

    @property
    def key(self) -> str:
        """``'<gpu id>|<profile id>'``: the pair's timelines are kept under it."""
        return f"{self.gpu.id}|{self.profile.id}"

    @property
    def option_id(self) -> str:
        """The id of its on-demand option in the comparison."""
        return f"dedicated:{self.gpu.id}:{self.profile.id}"

    def service(self, case: Case) -> ReplicaService:
        """The fleet replay's latency model for the trace's mean mix."""
        return self.fit.service_for(case.mean_in, case.mean_out)


@dataclass(frozen=True)
class Matchup:
    """The primary pair set against the serverless price that is cheapest on this trace: what the hybrid,
    break-even and sensitivity steps compare."""

    pair: Pair
    token: TokenPrice

    @classmethod
    def of(cls, pair: Pair | None, token: TokenPrice | None) -> Matchup | None:
        """None when either side is missing (nothing to compare)."""
        return cls(pair, token) if pair is not None and token is not None else None


def latency_profile(profile: Profile | None, price: TokenPrice) -> Profile | None:
    """The serverless latency profile if it may stand for ``price`` (it names that price, or none), else None."""
    if profile is None or profile.serverless_price_id not in (None, price.id):
        return None
    return profile


def last_arrival(trace: Trace | TraceDataset) -> float:
    """The billing window's end [s]: the last arrival (a dataset knows it from its files' footers)."""
    if isinstance(trace, TraceDataset):
        return trace.last_arrival_s
    return float(trace.df["arrival_s"].iloc[-1]) if len(trace) else 0.0


def head(trace: Trace | TraceDataset, limit: int, purpose: str, notes: list[str]) -> Trace | TraceDataset:
    """The first ``limit`` requests of ``trace`` (the whole trace when shorter), with a note when cut. A
    dataset is searched whole: its candidates are streamed, on the Dask workers when a client is open."""
    if isinstance(trace, TraceDataset) or limit <= 0 or len(trace) <= limit:
        return trace
    cut = float(trace.df["arrival_s"].iloc[limit - 1])
    notes.append(f"{purpose} used the first {limit:,} of {len(trace):,} requests ({cut / 3600:.1f} h of traffic)")
    return trace.with_df(trace.df.iloc[:limit], f"head({limit})")
