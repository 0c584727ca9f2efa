"""Synthetic traffic with prefix structure: a shared system prompt, multi-turn conversations (open or closed
loop) and retrieval over a document pool with Zipf popularity. Every trace carries ``hash_ids`` built by
:func:`traces.prefix.derive_hash_ids` (``meta.block_tokens`` tokens per id, 16 by default).

Conversations (the seed's Dynamo demo by default: a ~3,500-token document, 3–5 turns, ~830-token answers)::

    prompt of turn 1 = system prompt + document + question 1
    prompt of turn k = prompt of turn k−1 + answer k−1 + question k

**Open loop** (``rate`` conversations per second): conversations start as a Poisson process in
``[0, duration)``; turn k+1 arrives a think time after turn k (the think time stands for reading the answer
and writing the next question; later turns may fall after ``duration``).

**Closed loop** (``users`` concurrent users, ``count`` conversations): the trace is a pool of conversations
with columns ``session_id``, ``turn`` and ``think_time_s``. A simulator runs ``users`` users; a free user
takes the next conversation of the pool (pool order = order of the sessions' first rows), waits the first
turn's ``think_time_s``, sends it, and sends turn k+1 ``think_time_s`` (of turn k+1) after the answer to turn
k has ended. ``arrival_s`` holds the schedule those rules give when every answer is instantaneous (a lower
bound; :func:`closed_loop_arrivals` replays it with real latencies). ``meta.closed_loop_users`` keeps
``users``; the same pool can be run at any other concurrency.

Randomness: every function takes a ``numpy.random.Generator``; the same seed gives the same trace.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from breakeven.errors import InputError
from traces.generators import poisson_times
from traces.lengths import Fixed, LengthModel, LengthsLike
from traces.model import Trace, TraceMeta
from traces.prefix import DEFAULT_BLOCK_TOKENS, PrefixLevel, derive_hash_ids

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

OPEN_LOOP_THINK_S = 30.0
"""Default mean pause between an answer and the next question in open-loop conversations [s]."""
CLOSED_LOOP_THINK_S = 1.0
"""Default mean pause in closed-loop conversations [s]: in the seed's demo the "user" is a small model on a
serverless API writing the next question, about a second."""


@dataclass(frozen=True)
class ThinkTime:
    """A user's pause [s]: exponential with mean ``mean_s`` (``fixed=False``) or exactly ``mean_s``."""

    mean_s: float
    fixed: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean_s) and self.mean_s >= 0):
            raise InputError(f"think time: expected a non-negative number of seconds, found {self.mean_s!r}")

    def sample(self, n: int, rng: np.random.Generator) -> FloatArray:
        """``n`` pauses [s]."""
        if self.fixed or self.mean_s == 0:
            return np.full(n, float(self.mean_s))
        return rng.exponential(self.mean_s, size=n)

    def describe(self) -> str:
        """Spec syntax: ``fixed(S)`` or the exponential mean."""
        return f"fixed({self.mean_s:g})" if self.fixed else f"{self.mean_s:g}"


SEED_DOC = Fixed(3500)
SEED_QUESTION = Fixed(50)
SEED_ANSWER = Fixed(830)
NO_THINK = ThinkTime(0.0)


@dataclass(frozen=True)
class ConversationShape:
    """What one conversation looks like. The defaults are the seed's workload (dynamo-kv-routing-booth-guide:
    a ~3,500-token document, 3–5 turns growing to 7,000+ input tokens, ~830 output tokens)."""

    doc: LengthModel = SEED_DOC
    """Length of the opening document [tokens]."""
    question: LengthModel = SEED_QUESTION
    """Length of each user question [tokens] (not stated by the seed; 50 is a short follow-up)."""
    output: LengthModel = SEED_ANSWER
    """Length of each answer [tokens]."""
    turns: tuple[int, int] = (3, 5)
    """Turns per conversation, uniform over ``[low, high]``."""
    system_tokens: int = 0
    """A system prompt shared by every conversation [tokens]."""
    docs: int = 0
    """Documents in the pool (conversations about the same document share its blocks); 0 = one per conversation."""
    zipf: float = 1.0
    """Popularity exponent over the pool (document of rank r drawn with probability ∝ r^-zipf)."""
    think: ThinkTime = NO_THINK
    """Pause before each turn [s]."""
    block_tokens: int = DEFAULT_BLOCK_TOKENS

    def __post_init__(self) -> None:
        low, high = self.turns
        if not (1 <= low <= high):
            raise InputError(f"turns: expected 1 ≤ low ≤ high, found {low}..{high}")
        _non_negative("system_tokens", self.system_tokens)
        _non_negative("docs", self.docs)
        if not (math.isfinite(self.zipf) and self.zipf >= 0):
            raise InputError(f"zipf: expected an exponent ≥ 0, found {self.zipf!r}")
        if self.block_tokens < 1:
            raise InputError(f"block: expected a positive token count, found {self.block_tokens!r}")

    def describe(self) -> str:
        """The shape in spec syntax."""
        low, high = self.turns
        parts = [
            f"doc={self.doc.describe()}",
            f"turns={low}..{high}" if low != high else f"turns={low}",
            f"question={self.question.describe()}",
            f"output={self.output.describe()}",
            f"think={self.think.describe()}",
        ]
        if self.system_tokens:
            parts.append(f"system={self.system_tokens}")
        if self.docs:
            parts.append(f"docs={self.docs},zipf={self.zipf:g}")
        return ",".join(parts)


def _non_negative(name: str, value: int) -> None:
    if not (isinstance(value, int) and value >= 0):
        raise InputError(f"{name}: expected a non-negative integer, found {value!r}")


def zipf_choice(n_items: int, exponent: float, size: int, rng: np.random.Generator) -> IntArray:
    """``size`` draws of item ranks ``0 .. n_items − 1`` with probability ∝ (rank + 1)^−exponent."""
    if n_items < 1:
        raise InputError(f"zipf: expected at least one item, found {n_items}")
    weights = np.arange(1, n_items + 1, dtype=np.float64) ** -float(exponent)
    return rng.choice(n_items, size=size, p=weights / weights.sum()).astype(np.int64)


# ------------------------------------------------------------------------------------------- conversations


@dataclass(frozen=True)
class _Conversations:
    """Flattened conversations: one entry per request, grouped by conversation, turns in order."""

    conversation: IntArray
    turn: IntArray
    input_tokens: IntArray
    output_tokens: IntArray
    think_s: FloatArray
    doc: IntArray
    doc_tokens: IntArray


def _draw_conversations(n_conv: int, shape: ConversationShape, rng: np.random.Generator) -> _Conversations:
    """Turn counts, documents, then per request: questions, answers, think times (in that order)."""
    low, high = shape.turns
    turns = rng.integers(low, high + 1, size=n_conv)
    if shape.docs:
        doc_len = shape.doc.sample(shape.docs, rng)
        doc = zipf_choice(shape.docs, shape.zipf, n_conv, rng)
    else:
        doc_len = shape.doc.sample(n_conv, rng)
        doc = np.arange(n_conv, dtype=np.int64)
    conv = np.repeat(np.arange(n_conv, dtype=np.int64), turns)
    n = len(conv)
    starts = np.concatenate(([0], np.cumsum(turns)[:-1])).astype(np.int64)
    turn = np.arange(n, dtype=np.int64) - np.repeat(starts, turns) + 1
    question = shape.question.sample(n, rng)
    answer = shape.output.sample(n, rng)
    think = shape.think.sample(n, rng)
    # prompt k = system + document + questions 1..k + answers 1..k−1 (cumulative sums restarted per conversation)
    q_cum = _group_cumsum(question, starts, turns)
    a_cum_before = _group_cumsum(answer, starts, turns) - answer
    inputs = shape.system_tokens + doc_len[doc][conv] + q_cum + a_cum_before
    return _Conversations(conv, turn, inputs.astype(np.int64), answer, think, doc[conv], doc_len[doc][conv])


def _group_cumsum(values: npt.NDArray[Any], starts: IntArray, lengths: IntArray) -> npt.NDArray[Any]:
    total = np.cumsum(values)
    before = np.concatenate(([0], total))[starts]
    return total - np.repeat(before, lengths)


def _conversation_hash_ids(c: _Conversations, shape: ConversationShape) -> pa.ListArray:
    levels: list[PrefixLevel] = []
    n = len(c.turn)
    if shape.system_tokens:
        levels.append(PrefixLevel(np.zeros(n, dtype=np.int64), np.full(n, shape.system_tokens, dtype=np.int64)))
    levels.append(PrefixLevel(c.doc, shape.system_tokens + c.doc_tokens))
    return derive_hash_ids(
        c.input_tokens, block_tokens=shape.block_tokens, levels=levels, session=c.conversation, turn_order=c.turn
    )


def _session_ids(conversation: IntArray) -> npt.NDArray[np.str_]:
    return np.char.add("c", conversation.astype(str))


def _frame(
    arrival: FloatArray, c: _Conversations, hashes: pa.ListArray, *, think: bool, model: str | None
) -> pd.DataFrame:
    data: dict[str, object] = {
        "arrival_s": arrival,
        "input_tokens": c.input_tokens,
        "output_tokens": c.output_tokens,
        "session_id": _session_ids(c.conversation),
        "hash_ids": pd.arrays.ArrowExtensionArray(pa.chunked_array([hashes])),
        "turn": c.turn,
    }
    if think:
        data["think_time_s"] = c.think_s
    if model is not None:
        data["model"] = pd.Categorical(np.full(len(arrival), model, dtype=object))
    df = pd.DataFrame(data)
    df["session_id"] = df["session_id"].astype("str")
    order = np.argsort(arrival, kind="stable")
    return df.iloc[order].reset_index(drop=True)


def conversations(
    rate_cps: float,
    duration_s: float,
    rng: np.random.Generator,
    *,
    shape: ConversationShape | None = None,
    model: str | None = None,
) -> Trace:
    """Open-loop conversations starting at ``rate_cps`` conversations per second (Poisson) over
    ``[0, duration_s)``; turn k+1 arrives ``think`` seconds after turn k (see the module docstring)."""
    shape = shape or ConversationShape(think=ThinkTime(OPEN_LOOP_THINK_S))
    starts = poisson_times(rate_cps, duration_s, rng)
    c = _draw_conversations(len(starts), shape, rng)
    gaps = np.where(c.turn > 1, c.think_s, 0.0)
    first = np.flatnonzero(c.turn == 1)
    counts = np.diff(np.append(first, len(c.turn)))
    arrival = starts[c.conversation] + _group_cumsum(gaps, first, counts)
    df = _frame(arrival, c, _conversation_hash_ids(c, shape), think=False, model=model)
    label = f"conversations:rate={rate_cps:g},duration={duration_s:g},{shape.describe()}"
    return Trace(
        df=df, meta=TraceMeta(source=f"synthetic:{label}", format="synthetic", block_tokens=shape.block_tokens)
    )


def closed_loop_conversations(
    users: int,
    count: int,
    rng: np.random.Generator,
    *,
    shape: ConversationShape | None = None,
    model: str | None = None,
) -> Trace:
    """A closed-loop pool of ``count`` conversations for ``users`` concurrent users (see the module docstring:
    ``session_id``, ``turn``, ``think_time_s``; ``arrival_s`` assumes instantaneous answers)."""
    if not (isinstance(users, int) and users >= 1):
        raise InputError(f"users: expected a positive number of concurrent conversations, found {users!r}")
    if not (isinstance(count, int) and count >= 1):
        raise InputError(f"count: expected a positive number of conversations, found {count!r}")
    shape = shape or ConversationShape(think=ThinkTime(CLOSED_LOOP_THINK_S))
    c = _draw_conversations(count, shape, rng)
    offsets = np.concatenate(([0], np.flatnonzero(np.diff(c.conversation)) + 1, [len(c.turn)])).astype(np.int64)
    arrival = _closed_loop_schedule(offsets, c.think_s, np.zeros(len(c.turn)), users)
    df = _frame(arrival, c, _conversation_hash_ids(c, shape), think=True, model=model)
    label = f"conversations:users={users},count={count},{shape.describe()}"
    meta = TraceMeta(
        source=f"synthetic:{label}", format="synthetic", block_tokens=shape.block_tokens, closed_loop_users=users
    )
    return Trace(df=df, meta=meta)


# ------------------------------------------------------------------------------------ closed-loop replay


@dataclass(frozen=True)
class SessionTable:
    """A trace's sessions in pool order, for a simulator: conversation ``s`` is the rows
    ``rows[offsets[s]:offsets[s + 1]]`` (turns in order). Pool order: by the time a user took the session
    (``arrival_s − think_time_s`` of its first turn; just ``arrival_s`` in open-loop traces), ties in trace
    order."""

    rows: IntArray
    offsets: IntArray
    think_time_s: FloatArray
    """Per trace row (``trace.df`` order); zeros for an open-loop trace."""

    def __len__(self) -> int:
        return len(self.offsets) - 1


def session_table(trace: Trace) -> SessionTable:
    """The sessions of ``trace`` (needs ``session_id``; ``turn`` orders the rows of a session when present,
    else their order in the trace)."""
    df = trace.df
    if "session_id" not in df.columns:
        raise InputError(f"{trace.meta.source}: sessions need a session_id column; found {list(df.columns)}")
    n = len(df)
    codes = pd.factorize(df["session_id"].astype(str), sort=False)[0].astype(np.int64)
    turn = df["turn"].to_numpy(dtype=np.int64) if "turn" in df.columns else np.arange(n)
    think = df["think_time_s"].to_numpy(dtype=np.float64) if "think_time_s" in df.columns else np.zeros(n)
    by_session = np.lexsort((np.arange(n), turn, codes))
    first = by_session[np.concatenate(([True], codes[by_session][1:] != codes[by_session][:-1]))] if n else by_session
    start = df["arrival_s"].to_numpy()[first] - think[first]
    rank = np.empty(len(first), dtype=np.int64)
    rank[codes[first]] = np.argsort(np.lexsort((first, start)), kind="stable")
    rows = np.lexsort((np.arange(n), turn, rank[codes])).astype(np.int64)
    counts = np.bincount(rank[codes], minlength=len(first))
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return SessionTable(rows, offsets, think)


def closed_loop_arrivals(trace: Trace, users: int, latency_s: npt.ArrayLike) -> FloatArray:
    """Reference replay of the closed-loop rule: each request's arrival [s] when ``users`` users run the
    trace's sessions and request ``i`` (trace row) takes ``latency_s[i]`` from its arrival to its last token.

    A loop over conversations (a heap of users), vectorised within a conversation: a reference for
    simulators and tests, not a simulator.
    """
    if not (isinstance(users, int) and users >= 1):
        raise InputError(f"users: expected a positive number of concurrent users, found {users!r}")
    latency = np.asarray(latency_s, dtype=np.float64)
    if latency.shape != (len(trace),) or not np.all(np.isfinite(latency)) or (latency < 0).any():
        raise InputError(f"latency_s: expected {len(trace)} finite non-negative seconds, found shape {latency.shape}")
    table = session_table(trace)
    ordered = _closed_loop_schedule(table.offsets, table.think_time_s[table.rows], latency[table.rows], users)
    arrival = np.empty(len(trace))
    arrival[table.rows] = ordered
    return arrival


def _closed_loop_schedule(offsets: IntArray, think: FloatArray, latency: FloatArray, users: int) -> FloatArray:
    """Arrivals of requests laid out conversation by conversation (CSR ``offsets``) under the closed-loop rule."""
    arrival = np.empty(len(think))
    free: list[tuple[float, int]] = [(0.0, u) for u in range(users)]
    for s in range(len(offsets) - 1):  # one step per conversation (a heap of users), not per request
        lo, hi = int(offsets[s]), int(offsets[s + 1])
        t0, user = heapq.heappop(free)
        steps = think[lo:hi] + latency[lo:hi]
        done = t0 + np.cumsum(steps)
        arrival[lo:hi] = done - latency[lo:hi]
        heapq.heappush(free, (float(done[-1]) if hi > lo else t0, user))
    return arrival


# ------------------------------------------------------------------------------------- request-level shapes


def shared_prompt(
    rate_rps: float,
    duration_s: float,
    lengths: LengthsLike,
    rng: np.random.Generator,
    *,
    system_tokens: int,
    prompts: int = 1,
    block_tokens: int = DEFAULT_BLOCK_TOKENS,
    model: str | None = None,
) -> Trace:
    """Poisson requests that all start with one of ``prompts`` system prompts of ``system_tokens`` tokens
    (chosen uniformly), followed by a user part drawn from ``lengths`` (``input_tokens`` = system + user part).
    Arrivals, then the user part and answer lengths, then the prompt choice are drawn."""
    _non_negative("system", system_tokens)
    if not (isinstance(prompts, int) and prompts >= 1):
        raise InputError(f"prompts: expected a positive number of distinct system prompts, found {prompts!r}")
    times = poisson_times(rate_rps, duration_s, rng)
    user, out = lengths.sample_pairs(len(times), rng)
    which = rng.integers(0, prompts, size=len(times))
    inputs = system_tokens + user
    levels = [PrefixLevel(which, np.full(len(times), system_tokens))]
    label = (
        f"shared:rate={rate_rps:g},duration={duration_s:g},system={system_tokens},prompts={prompts},"
        f"{lengths.describe()}"
    )
    return _request_trace(times, inputs, out, levels, label, block_tokens=block_tokens, model=model)


def rag(
    rate_rps: float,
    duration_s: float,
    rng: np.random.Generator,
    *,
    docs: int,
    zipf: float = 1.0,
    doc: LengthModel | None = None,
    question: LengthModel | None = None,
    output: LengthModel | None = None,
    system_tokens: int = 0,
    block_tokens: int = DEFAULT_BLOCK_TOKENS,
    model: str | None = None,
) -> Trace:
    """Retrieval-augmented requests (Poisson): prompt = system prompt + one document of a pool of ``docs``
    (rank r drawn with probability ∝ r^-zipf) + a question. Document lengths are drawn once per document,
    then arrivals, documents, questions and answers."""
    if not (isinstance(docs, int) and docs >= 1):
        raise InputError(f"docs: expected a positive number of documents in the pool, found {docs!r}")
    if not (math.isfinite(zipf) and zipf >= 0):
        raise InputError(f"zipf: expected an exponent ≥ 0, found {zipf!r}")
    _non_negative("system", system_tokens)
    doc = doc or Fixed(2000)
    question = question or Fixed(50)
    output = output or Fixed(200)
    doc_len = doc.sample(docs, rng)
    times = poisson_times(rate_rps, duration_s, rng)
    n = len(times)
    pick = zipf_choice(docs, zipf, n, rng)
    q = question.sample(n, rng)
    out = output.sample(n, rng)
    inputs = system_tokens + doc_len[pick] + q
    levels = [PrefixLevel(pick, system_tokens + doc_len[pick])]
    if system_tokens:
        levels.insert(0, PrefixLevel(np.zeros(n, dtype=np.int64), np.full(n, system_tokens)))
    label = (
        f"rag:rate={rate_rps:g},duration={duration_s:g},docs={docs},zipf={zipf:g},doc={doc.describe()},"
        f"question={question.describe()},output={output.describe()},system={system_tokens}"
    )
    return _request_trace(times, inputs, out, levels, label, block_tokens=block_tokens, model=model)


def _request_trace(
    times: FloatArray,
    inputs: IntArray,
    outputs: IntArray,
    levels: list[PrefixLevel],
    label: str,
    *,
    block_tokens: int,
    model: str | None,
) -> Trace:
    """The trace of requests arriving at ``times``, their ``hash_ids`` derived from the prefix ``levels``."""
    hashes = derive_hash_ids(inputs, block_tokens=block_tokens, levels=levels)
    data: dict[str, object] = {
        "arrival_s": times.astype(np.float64),
        "input_tokens": np.asarray(inputs, dtype=np.int64),
        "output_tokens": np.asarray(outputs, dtype=np.int64),
        "hash_ids": pd.arrays.ArrowExtensionArray(pa.chunked_array([hashes])),
    }
    if model is not None:
        data["model"] = pd.Categorical(np.full(len(times), model, dtype=object))
    meta = TraceMeta(source=f"synthetic:{label}", format="synthetic", block_tokens=block_tokens)
    return Trace(df=pd.DataFrame(data), meta=meta)


def turns_of(trace: Trace) -> Sequence[int]:
    """Turns per session (in pool order), for summaries and tests."""
    table = session_table(trace)
    return [int(x) for x in np.diff(table.offsets)]
