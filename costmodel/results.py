"""The results schema (``llm-breakeven/results/v1``): one object that the console, results.json and the HTML
report all render from (STYLE.md habit 5). ``breakeven report results.json`` re-renders a saved run from it
alone, so everything a chart or table shows must be in here.

Money is in the catalog's currency (USD unless stated) and named ``*_usd``; rates are requests/second
(``*_rps``) or per hour (``*_rph``); a "month" is 730 hours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from costmodel.profiles.schema import Profile
from pricing.models import GpuPrice, OwnedServer, TokenPrice
from traces.summary_model import TraceSummary

RESULTS_SCHEMA: Final = "llm-breakeven/results/v1"
HOURS_PER_MONTH = 730.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------------- inputs


class Slo(_Strict):
    """Latency targets a request must meet to count as served well."""

    ttft_ms: float = Field(default=600.0, gt=0, description="Time-to-first-token target [ms].")
    tpot_ms: float = Field(default=60.0, gt=0, description="Time-per-output-token target [ms].")
    percentile: Literal["mean", "p50", "p90", "p99"] = Field(
        default="p90", description="Percentile at which capacity planning checks the targets."
    )
    attainment_target: float = Field(
        default=0.9, gt=0, le=1, description="Share of requests that must meet both targets for an option to pass."
    )


class AutoscalePolicy(_Strict):
    """How the dedicated fleet scales. ``kind='fixed'`` keeps ``min_replicas`` running all the time."""

    kind: Literal["fixed", "utilization", "queue"] = Field(
        default="utilization", description="fixed count, or scale on utilization / on queue length."
    )
    min_replicas: int = Field(default=1, ge=0, description="Replicas kept running (0 = scale to zero).")
    max_replicas: int = Field(default=8, ge=1, description="Upper bound on replicas.")
    target_utilization: float = Field(
        default=0.7, gt=0, le=1, description="Scale up when offered load exceeds this share of ready capacity."
    )
    queue_threshold: float = Field(default=8.0, ge=0, description="Queue length per replica that triggers a scale-up.")
    scale_up_cooldown_s: float = Field(default=60.0, ge=0, description="Minimum time between scale-ups [s].")
    idle_timeout_s: float = Field(default=600.0, ge=0, description="A replica idle this long is stopped [s].")
    decision_interval_s: float = Field(default=10.0, gt=0, description="How often the autoscaler decides [s].")


class FinanceInputs(_Strict):
    """How commitments, spot and owned capacity were asked to be priced."""

    commitment: str = Field(default="auto", description="'auto' (planner), 'none', or a committed replica count.")
    growth: float = Field(default=1.0, gt=0, description="Traffic growth the commitment is planned for (x rate).")
    spot: bool = Field(default=True, description="Whether spot options were priced (where a spot price exists).")
    spot_mtbp_hours: float | None = Field(default=None, description="Mean hours between preemptions, if given.")
    lost_requests: Literal["retry", "fail"] = Field(
        default="retry", description="What happens to requests on a preempted replica."
    )
    owned: list[str] = Field(default_factory=list, description="Owned-server ids priced.")
    owned_servers: int | None = Field(default=None, description="Owned fleet size given (None = planned).")


class Inputs(_Strict):
    """What the analysis was asked, so a reviewer can reproduce it."""

    scenario: str = Field(description="Scenario name, e.g. 'bundled-default' or a user label.")
    trace_source: str | None = Field(default=None, description="Trace file or synthetic spec.")
    profile_sources: list[str] = Field(default_factory=list, description="Profile files used.")
    serverless_price_ids: list[str] = Field(default_factory=list, description="Per-token prices compared.")
    gpu_price_ids: list[str] = Field(default_factory=list, description="GPU prices compared.")
    price_files: list[str] = Field(default_factory=list, description="User price catalogs layered on the bundled one.")
    slo: Slo = Field(default_factory=Slo, description="Latency targets.")
    policy: AutoscalePolicy = Field(
        default_factory=AutoscalePolicy, description="Autoscaling policy of the dedicated fleet."
    )
    price_tier: Literal["on_demand", "reserved", "spot"] = Field(
        default="on_demand", description="GPU price tier used."
    )
    stale_after_days: int = Field(default=180, description="Prices older than this are flagged stale.")
    as_of: str = Field(description="Date the analysis treats as today (YYYY-MM-DD), for staleness.")
    assumptions: list[str] = Field(default_factory=list, description="Stated assumptions, in plain words.")
    seed: int = Field(default=0, description="Seed of every random draw (Monte Carlo, synthetic traces).")
    currency: str = Field(
        default="USD", description="ISO 4217 currency of every amount (the prices' own; *_usd names the slot)."
    )
    exchange_rates: dict[str, float] = Field(
        default_factory=dict, description="Rates given to compare prices in other currencies (1 CODE = rate)."
    )
    finance: FinanceInputs | None = Field(
        default=None, description="What was asked of commitments, spot and owned capacity."
    )


class PriceUsed(_Strict):
    """A catalog entry the analysis used, with its origin and staleness."""

    price: Annotated[TokenPrice | GpuPrice | OwnedServer, Field(discriminator="kind")] = Field(description="The entry.")
    origin: str = Field(description="Catalog file the entry came from (bundled or a --prices file).")
    age_days: int = Field(description="Days between as_of of the price and the analysis date.")
    stale: bool = Field(description="True when older than the staleness limit.")


# -------------------------------------------------------------------------------------------- options


class Distribution(_Strict):
    """Percentiles of a per-request quantity (ms unless the field says otherwise)."""

    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None


class TokenCosts(_Strict):
    """The per-token bill, split by token type [USD over the trace]."""

    input_usd: float = Field(ge=0, description="Uncached input tokens.")
    cached_input_usd: float = Field(default=0.0, ge=0, description="Cached input tokens.")
    output_usd: float = Field(ge=0, description="Output tokens.")
    long_context_extra_usd: float = Field(
        default=0.0, ge=0, description="Surcharge from long-context tiers (included above)."
    )
    batch_savings_usd: float = Field(
        default=0.0, ge=0, description="Saved by sending deferrable traffic to the batch tier (already subtracted)."
    )
    total_usd: float = Field(ge=0, description="The whole token bill.")
    requests: int = Field(ge=0, description="Requests billed.")
    cache_write_usd: float = Field(
        default=0.0, ge=0, description="Input tokens written to the provider's prompt cache at its write premium."
    )
    input_tokens: int | None = Field(default=None, ge=0, description="All input tokens billed.")
    cached_input_tokens: int | None = Field(
        default=None, ge=0, description="Input tokens billed as cached (served from the provider's prompt cache)."
    )
    cache_write_tokens: int | None = Field(
        default=None, ge=0, description="Input tokens billed as cache writes (only where writes cost extra)."
    )
    cache_basis: str | None = Field(
        default=None,
        description="How cached tokens were decided: the provider's cache replayed over the trace's hash_ids "
        "(rules and assumptions), the trace's cached_tokens column, or none.",
    )


class GpuHours(_Strict):
    """GPU instance-hours billed, split by what the instance was doing."""

    busy: float = Field(ge=0, description="Hours serving at least one request.")
    idle: float = Field(ge=0, description="Hours running with nothing to do (includes minimum-billing padding).")
    cold_start: float = Field(ge=0, description="Hours booting (billed, no capacity yet).")
    total: float = Field(ge=0, description="busy + idle + cold_start.")


class GpuCosts(_Strict):
    """The dedicated bill."""

    hours: GpuHours = Field(description="Instance-hours billed.")
    hourly_usd: float = Field(ge=0, description="Instance price used [USD / hour].")
    tier: Literal["on_demand", "reserved", "spot"] = Field(default="on_demand", description="Price tier.")
    total_usd: float = Field(ge=0, description="hours.total x hourly_usd, after billing increments and minimums.")


class Latency(_Strict):
    """Latency the option delivers over the trace, and how many requests meet the SLO."""

    ttft_ms: Distribution = Field(description="Time to first token, including queueing [ms].")
    tpot_ms: Distribution = Field(description="Time per output token [ms].")
    queue_ms: Distribution | None = Field(default=None, description="Queueing delay before service [ms].")
    slo_attainment: float = Field(ge=0, le=1, description="Share of requests meeting both TTFT and TPOT targets.")
    ttft_attainment: float = Field(ge=0, le=1, description="Share meeting the TTFT target.")
    tpot_attainment: float = Field(ge=0, le=1, description="Share meeting the TPOT target.")
    source: str = Field(description="Where the latency comes from: 'replay' or the serverless profile id.")


class Replicas(_Strict):
    """The dedicated fleet over the trace."""

    policy: str = Field(description="Plain-words policy, e.g. 'autoscale 0..4, idle 10 min'.")
    fixed: int | None = Field(default=None, description="Replica count when fixed.")
    mean: float = Field(ge=0, description="Time-weighted mean replicas running (billed).")
    peak: int = Field(ge=0, description="Most replicas running at once.")
    cold_starts: int = Field(ge=0, description="Replica starts during the trace.")
    capacity_rps_per_replica: float = Field(ge=0, description="Sustainable request rate of one replica under the SLO.")
    utilization: float = Field(ge=0, le=1, description="Busy share of billed replica time.")


class UnitCosts(_Strict):
    """What an option costs per unit of the trace's traffic (at its mix of requests and tokens)."""

    usd_per_1k_requests: float = Field(ge=0, description="Monthly cost ÷ requests a month × 1,000.")
    usd_per_mtok_input: float = Field(ge=0, description="The input tokens' share of the cost per 1M input tokens.")
    usd_per_mtok_output: float = Field(ge=0, description="The output tokens' share per 1M output tokens.")
    usd_per_mtok_blended: float = Field(ge=0, description="The whole cost per 1M tokens (input + output).")
    split: str = Field(description="How the cost was split between input and output tokens, in words.")


class CommitmentUsed(_Strict):
    """Base replicas paid for whether used or not (committed for a term, or owned), and what runs above."""

    base: Literal["committed", "owned"] = Field(description="Committed instances, or owned servers.")
    replicas: int = Field(ge=0, description="Base replicas.")
    servers: int | None = Field(default=None, description="Owned: servers (replicas ÷ replicas per server).")
    term_months: int | None = Field(default=None, description="Committed: the term [months].")
    hourly_usd: float | None = Field(default=None, description="Committed: price per instance-hour of the term.")
    upfront_usd: float | None = Field(default=None, description="Committed: upfront payment per instance.")
    mode: Literal["on_demand", "serverless", "on_demand+serverless"] = Field(description="What runs above the base.")
    monthly_base_usd: float = Field(ge=0, description="The base's cost per month, busy or idle.")
    monthly_on_demand_usd: float = Field(ge=0, description="On-demand instances above the base, per month.")
    monthly_serverless_usd: float = Field(ge=0, description="Overflow to serverless, per month.")
    obligation_usd: float | None = Field(
        default=None, description="Committed: what the commitment obliges over its whole term."
    )
    breakeven_utilization: float = Field(
        description="A base replica pays off when it would otherwise run at least this share of the hours."
    )
    growth: float = Field(default=1.0, description="Traffic growth the mix was planned for (x rate).")


class SpotWhatIf(_Strict):
    """The spot option at another preemption rate."""

    mean_hours_between_preemptions: float
    monthly_cost_usd: float
    slo_attainment: float


class SpotUsed(_Strict):
    """How the spot option's preemptions were modelled, and their effect."""

    mean_hours_between_preemptions: float = Field(description="Mean running hours of a replica between preemptions.")
    rate_source: Literal["catalog", "given", "assumed"] = Field(description="Where that rate came from.")
    rate_detail: str = Field(description="The rate's source or the assumption, in words.")
    notice_s: float = Field(description="Warning before a preempted replica stops [s].")
    cold_start_s: float = Field(description="Cold start the replacement pays [s].")
    capacity_gap_s: float = Field(description="Seconds a preempted replica's capacity is missing.")
    expected_preemptions_per_month: float = Field(ge=0, description="Replica-hours a month ÷ the mean hours between.")
    lost_requests: Literal["retry", "fail"] = Field(description="What happens to a preempted replica's requests.")
    lost_requests_per_preemption: float = Field(ge=0, description="Mean requests in flight on a preempted replica.")
    slo_misses_per_preemption: float = Field(ge=0, description="Mean extra SLO misses one preemption causes.")
    usd_per_preemption: float = Field(ge=0, description="Mean extra cost of one preemption (replacement overlap).")
    events_measured: int = Field(ge=0, description="Preemptions injected into the replay to measure the above.")
    slo_attainment_without_preemptions: float = Field(ge=0, le=1, description="The same fleet if never preempted.")
    on_demand_option_id: str | None = Field(default=None, description="The same fleet on demand, for comparison.")
    what_if: list[SpotWhatIf] = Field(default_factory=list, description="Cost and SLO at the range's ends.")


class Option(_Strict):
    """One way to serve the traffic and what it costs."""

    id: str = Field(description="Stable id, e.g. 'serverless:digitalocean/gpt-oss-120b'.")
    kind: Literal["serverless", "dedicated", "hybrid"] = Field(description="Option family.")
    label: str = Field(description="Plain-words name for reports.")
    serverless_price_id: str | None = Field(default=None, description="Per-token price used.")
    gpu_price_id: str | None = Field(default=None, description="GPU price used.")
    profile_id: str | None = Field(default=None, description="Measured profile used.")
    total_cost_usd: float = Field(ge=0, description="Cost over the trace.")
    monthly_cost_usd: float = Field(ge=0, description="Cost per 730-hour month at the trace's mean rate.")
    cost_per_request_usd: float = Field(ge=0, description="total_cost_usd / requests (0 with no requests).")
    token_costs: TokenCosts | None = Field(default=None, description="Per-token bill (serverless and hybrid overflow).")
    gpu_costs: GpuCosts | None = Field(default=None, description="GPU bill (dedicated and hybrid base).")
    gpu_hours_billed: float | None = Field(default=None, ge=0, description="= gpu_costs.hours.total, for scripts.")
    replicas: Replicas | None = Field(default=None, description="Fleet summary (dedicated and hybrid).")
    latency: Latency | None = Field(default=None, description="Latency and SLO attainment; None when unknown.")
    slo_attainment: float | None = Field(default=None, ge=0, le=1, description="= latency.slo_attainment, for scripts.")
    meets_slo: bool | None = Field(default=None, description="slo_attainment >= the target; None when unknown.")
    overflow_share: float | None = Field(
        default=None, ge=0, le=1, description="Hybrid: share of requests sent to serverless."
    )
    rate_limit_violations: int | None = Field(default=None, ge=0, description="Minutes over the API's rate limits.")
    notes: list[str] = Field(default_factory=list, description="Caveats specific to this option.")
    pricing: Literal["per_token", "on_demand", "committed", "spot", "owned"] | None = Field(
        default=None, description="How the capacity is paid for (committed and owned mixes may add on demand above)."
    )
    annual_cost_usd: float | None = Field(default=None, ge=0, description="Twelve 730-hour months of this option.")
    unit_costs: UnitCosts | None = Field(default=None, description="What the option costs per request and per token.")
    commitment: CommitmentUsed | None = Field(
        default=None, description="Committed or owned base replicas and what runs above them."
    )
    spot: SpotUsed | None = Field(default=None, description="Spot: the preemption model and its effect.")
    prefix_hit_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Dedicated: share of prompt tokens the replicas' prefix caches held (simulated, under routing).",
    )
    routing: str | None = Field(default=None, description="Dedicated: how requests were routed across replicas.")


# ------------------------------------------------------------------------------------ prefix caching


class RoutingRow(_Strict):
    """One routing policy (or no prefix caching) for the primary dedicated option."""

    routing: Literal["none", "round_robin", "least_loaded", "session", "kv_aware"] = Field(
        description="Routing policy; 'none' = prefix caching off (every prompt computed in full)."
    )
    hit_rate_tokens: float = Field(ge=0, le=1, description="Share of prompt tokens found in the replica's cache.")
    replica_capacity_rps: float = Field(ge=0, description="One replica's SLO capacity at that hit rate [req/s].")
    monthly_cost_usd: float = Field(ge=0, description="The dedicated fleet's monthly cost at that capacity.")
    gpu_hours: float = Field(ge=0, description="GPU-hours billed over the trace.")
    slo_attainment: float | None = Field(default=None, ge=0, le=1, description="Share of requests meeting the SLO.")
    probe_ttft_p90_ms: float | None = Field(default=None, ge=0, description="p90 TTFT in the routed-fleet probe [ms].")
    probe_output_tok_s: float | None = Field(default=None, ge=0, description="Output tokens/s in the probe.")


class PrefixCaching(_Strict):
    """What the replicas' prefix caches and the routing policy change (traces with hash_ids, simulated)."""

    option_id: str = Field(description="The dedicated option described.")
    routing: str = Field(description="The routing policy the dedicated options were costed with.")
    infinite_cache_share: float = Field(
        ge=0,
        le=1,
        description="Share of prompt tokens an infinite cache of prompts would hit (vLLM also caches answers, "
        "so a conversation's hit rate can exceed it).",
    )
    probe_requests: int = Field(ge=0, description="Requests of the trace's head simulated by the routed fleet.")
    probe_replicas: int = Field(ge=1, description="Replicas of that fleet.")
    rows: list[RoutingRow] = Field(description="Prefix caching off, then one row per routing policy.")
    breakeven_without_cache_rps: float | None = Field(
        default=None, description="Capacity-aware break-even at the mean mix with prefix caching off [req/s]."
    )
    breakeven_with_cache_rps: float | None = Field(
        default=None, description="The same at the chosen routing's hit rate [req/s]."
    )
    notes: list[str] = Field(default_factory=list, description="How the figures were obtained, and caveats.")


# ------------------------------------------------------------------------------------------ break-even


class BreakevenRow(_Strict):
    """Where serverless and dedicated cost the same, at one input/output length."""

    input_tokens: float = Field(ge=0, description="Input tokens per request (mean when from a trace).")
    output_tokens: float = Field(ge=0, description="Output tokens per request.")
    method: Literal["closed_form", "capacity", "trace"] = Field(description="How the line was computed.")
    breakeven_rps: float | None = Field(
        description="Mean request rate [req/s] above which dedicated is cheaper; None when it never is."
    )
    breakeven_rph: float | None = Field(description="Same, per hour.")
    serverless_cost_per_request_usd: float = Field(ge=0, description="Per-token price x tokens of one request.")
    replicas: int | None = Field(default=None, description="capacity: replicas needed at the crossing.")
    crossings_rps: list[float] = Field(default_factory=list, description="capacity: every rate where the costs cross.")
    replica_capacity_rps: float | None = Field(
        default=None, description="capacity: one replica's SLO capacity [req/s]."
    )
    serverless_price_id: str | None = Field(default=None, description="Per-token price used.")
    gpu_price_id: str | None = Field(default=None, description="GPU price used.")
    gpu_hourly_usd: float | None = Field(default=None, description="Instance price used [USD / hour].")
    notes: list[str] = Field(default_factory=list, description="Caveats (extrapolation, no replica meets the SLO...).")


# ------------------------------------------------------------------------------------------ chart data


class CostCurve(_Strict):
    """Monthly cost of each option family against mean request rate (the main chart)."""

    rps: list[float] = Field(description="Mean request rates [req/s], increasing.")
    serverless_monthly_usd: list[float] = Field(description="Serverless monthly cost at each rate.")
    dedicated_monthly_usd: list[float | None] = Field(
        description="Dedicated monthly cost (a step function); None = SLO unreachable."
    )
    hybrid_monthly_usd: list[float | None] | None = Field(
        default=None, description="Best hybrid monthly cost, if computed."
    )
    serverless_price_id: str | None = None
    gpu_price_id: str | None = None
    user_rps: float = Field(ge=0, description="The trace's mean rate (the user's traffic marker).")
    breakeven_rps: list[float] = Field(default_factory=list, description="Rates where serverless and dedicated cross.")


class Timeline(_Strict):
    """The trace over time with the dedicated fleet overlaid (downsampled for charts)."""

    bin_s: float = Field(gt=0, description="Width of a time bin [s].")
    t_s: list[float] = Field(description="Bin start times [s since trace start].")
    arrivals_rps: list[float] = Field(description="Requests per second in each bin.")
    replicas_running: list[float] = Field(description="Replicas billed in each bin (mean over the bin).")
    replicas_ready: list[float] = Field(description="Replicas serving in each bin (mean over the bin).")
    cold_start_times_s: list[float] = Field(default_factory=list, description="When replica starts began [s].")
    option_id: str | None = Field(default=None, description="The dedicated or hybrid option shown.")


class MixPoint(_Strict):
    """One mix of base replicas and what runs above them, replayed exactly."""

    replicas: int = Field(ge=0, description="Base replicas (committed or owned).")
    mode: Literal["on_demand", "serverless", "on_demand+serverless"] = Field(description="What runs above them.")
    monthly_cost_usd: float = Field(ge=0, description="The mix's cost per month.")
    slo_attainment: float = Field(ge=0, le=1, description="Share of requests meeting the SLO.")
    meets_slo: bool = Field(description="slo_attainment ≥ the target.")


class CommitmentPlanResult(_Strict):
    """The commitment planner's search for one GPU price (chart: monthly cost against base replicas)."""

    base: Literal["committed", "owned"] = Field(description="Committed instances, or owned servers.")
    base_id: str = Field(description="The GPU price (committed) or the owned server id.")
    gpu_price_id: str = Field(description="GPU price of the on-demand replicas above the base.")
    serverless_price_id: str | None = Field(default=None, description="Price the overflow goes to.")
    profile_id: str = Field(description="The deployment profile.")
    term_months: int | None = Field(default=None, description="Committed: the term [months].")
    replicas_per_unit: int = Field(default=1, ge=1, description="Replicas per committed instance or owned server.")
    base_hourly_usd: float = Field(description="One base replica's cost per hour (upfront spread over the term).")
    on_demand_hourly_usd: float = Field(description="One on-demand replica's price per hour.")
    breakeven_utilization: float = Field(
        description="Share of the hours a base replica must be needed to cost less than on demand."
    )
    hours_share: list[float] = Field(
        description="Share of the hours with at least k replicas running on demand, k = 1, 2, ... (no base)."
    )
    replicas: list[int] = Field(description="Base replicas of the estimate curves.")
    estimate_monthly_usd: dict[str, list[float]] = Field(
        description="Estimated monthly cost by mode at each base size (from the on-demand duration curve)."
    )
    evaluated: list[MixPoint] = Field(default_factory=list, description="Mixes replayed exactly.")
    best_replicas: int = Field(ge=0, description="The chosen base size.")
    best_mode: Literal["on_demand", "serverless", "on_demand+serverless"] = Field(description="The chosen mode.")
    best_committed_replicas: int | None = Field(
        default=None, description="The cheapest mix with a base (shown as an option even when none pays off)."
    )
    best_committed_mode: Literal["on_demand", "serverless", "on_demand+serverless"] | None = Field(
        default=None, description="Its mode."
    )
    option_id: str | None = Field(default=None, description="The option built from the choice (None: no base).")
    growth: float = Field(default=1.0, description="Traffic growth planned for (x rate).")
    notes: list[str] = Field(default_factory=list, description="Caveats: the price's confidence, the window...")


class TornadoBar(_Strict):
    """How the answer moves when one input moves by ±delta."""

    parameter: str = Field(description="Input varied, e.g. 'gpu_hourly_usd'.")
    label: str = Field(description="Plain-words label.")
    base_value: float = Field(description="The input's value in the analysis.")
    low_value: float = Field(description="Input at -delta.")
    high_value: float = Field(description="Input at +delta.")
    breakeven_rps_low: float | None = Field(description="Break-even rate with the input at low_value.")
    breakeven_rps_high: float | None = Field(description="Break-even rate with the input at high_value.")
    monthly_gap_usd_low: float = Field(description="Serverless minus dedicated monthly cost, input at low_value.")
    monthly_gap_usd_high: float = Field(description="Same, input at high_value.")


class Band(_Strict):
    """p10 / p50 / p90 of an uncertain quantity."""

    p10: float | None
    p50: float | None
    p90: float | None


class Sensitivity(_Strict):
    """Tornado and Monte Carlo around the recommended comparison."""

    delta: float = Field(default=0.2, description="Relative change applied to each input (0.2 = ±20 %).")
    base_breakeven_rps: float | None = Field(description="Break-even rate at the base inputs.")
    base_monthly_gap_usd: float = Field(description="Serverless minus dedicated monthly cost at the base inputs.")
    tornado: list[TornadoBar] = Field(default_factory=list, description="Bars, widest first.")
    samples: int = Field(default=0, ge=0, description="Monte Carlo draws.")
    seed: int = Field(default=0, description="Monte Carlo seed.")
    breakeven_rps: Band | None = Field(default=None, description="Monte Carlo band of the break-even rate.")
    monthly_saving_usd: Band | None = Field(
        default=None, description="Monte Carlo band of the monthly saving of the recommendation."
    )
    cost_band_rps: list[float] = Field(default_factory=list, description="Rates of the uncertainty band chart.")
    dedicated_monthly_p10: list[float] = Field(default_factory=list)
    dedicated_monthly_p50: list[float] = Field(default_factory=list)
    dedicated_monthly_p90: list[float] = Field(default_factory=list)
    varied: list[str] = Field(default_factory=list, description="What the Monte Carlo drew, in plain words.")


# ------------------------------------------------------------------------------------- recommendation


class Risk(_Strict):
    """Something that could make the recommendation wrong."""

    code: str = Field(description="Stable code, e.g. 'stale-price', 'cold-start-slo', 'extrapolation'.")
    severity: Literal["info", "warning", "critical"] = Field(description="How much it matters.")
    message: str = Field(description="Plain-words explanation with the numbers.")


class BreakevenLine(_Strict):
    """One of the break-even numbers, what it means and whether it is the one to sign."""

    method: Literal["closed_form", "capacity", "trace"] = Field(description="How it was computed.")
    role: Literal["headline", "context"] = Field(description="headline: the one the verdict uses.")
    name: str = Field(description="Its name in the report, e.g. 'trace-shaped'.")
    breakeven_rps: float | None = Field(description="Mean rate above which dedicated is cheaper; None = never.")
    output_tokens: float = Field(ge=0, description="Output tokens per request it was computed at.")
    meaning: str = Field(description="What it assumes, in words a finance reader follows.")
    why: str = Field(default="", description="Headline only: why this is the one that fits this traffic.")


class Recommendation(_Strict):
    """The verdict, with the numbers behind it."""

    option_id: str | None = Field(description="The option to run; None when nothing meets the SLO.")
    kind: Literal["serverless", "dedicated", "hybrid", "none"] = Field(description="Its family.")
    headline: str = Field(description="One sentence: what to run and why, with numbers.")
    details: list[str] = Field(default_factory=list, description="Supporting sentences, numbers included.")
    monthly_cost_usd: dict[str, float] = Field(default_factory=dict, description="Monthly cost of every option, by id.")
    monthly_saving_usd: float = Field(description="Monthly cost of the next-best option minus the recommended one.")
    runner_up_option_id: str | None = Field(default=None, description="The next-best option.")
    slo_attainment: float | None = Field(default=None, description="SLO attainment of the recommended option.")
    user_rps: float = Field(ge=0, description="The trace's mean request rate.")
    output_tokens_mean: float = Field(ge=0, description="The trace's mean output tokens (the output-length mix).")
    breakeven_rps: float | None = Field(
        description="Break-even rate at the trace's output mix (trace-shaped if computed)."
    )
    breakeven_method: Literal["closed_form", "capacity", "trace"] | None = Field(default=None)
    risks: list[Risk] = Field(default_factory=list, description="What could make this wrong.")
    breakeven_lines: list[BreakevenLine] = Field(
        default_factory=list,
        description="The headline break-even first (the one the verdict uses), then the others, each in words.",
    )


# ----------------------------------------------------------------------------------------- the whole


class Results(_Strict):
    """Everything one ``breakeven analyze`` run produced."""

    schema_: Literal["llm-breakeven/results/v1"] = Field(default=RESULTS_SCHEMA, alias="schema")
    generated_at: datetime = Field(description="When the analysis ran (UTC).")
    tool_version: str = Field(description="llm-breakeven version.")
    inputs: Inputs
    trace: TraceSummary
    prices: list[PriceUsed] = Field(default_factory=list)
    profiles: list[Profile] = Field(default_factory=list)
    options: list[Option] = Field(default_factory=list)
    breakeven: list[BreakevenRow] = Field(default_factory=list)
    cost_curve: CostCurve | None = None
    timeline: Timeline | None = None
    sensitivity: Sensitivity | None = None
    recommendation: Recommendation
    warnings: list[str] = Field(default_factory=list)
    commitment_plans: list[CommitmentPlanResult] = Field(
        default_factory=list, description="The commitment (and owned-fleet) planner's search, per GPU price."
    )
    prefix_caching: PrefixCaching | None = Field(
        default=None, description="Prefix caching and routing, when the trace carries prefixes (hash_ids)."
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def option(self, option_id: str) -> Option:
        """The option with this id (``KeyError`` if absent)."""
        for opt in self.options:
            if opt.id == option_id:
                return opt
        raise KeyError(option_id)
