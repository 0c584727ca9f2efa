"""Spec syntax of the generators with prefix structure (:mod:`traces.conversations`), shared with
``breakeven trace generate spec`` and ``breakeven analyze --synthetic``::

    conversations:users=60,count=600                      closed loop, the seed's workload by default
    conversations:rate=0.05,duration=1h,think=20          open loop: conversations per second
    conversations:users=120,count=1000,docs=200,zipf=1.1,doc=lognormal(median=3500,p90=6000),turns=3..5
    shared:rate=2,duration=1h,system=1500,prompts=3,input=lognormal(median=200,p90=800),output=fixed(220)
    rag:rate=2,duration=1h,docs=1000,zipf=1.1,doc=lognormal(mean=2000,p90=4000),question=50,output=200

Keys (lengths take the syntax of ``input=``: ``N``, ``fixed(N)``, ``lognormal(...)``, ``resample(FILE)``):

- ``conversations``: ``users`` and ``count`` (closed loop) *or* ``rate`` (conversations/s) and ``duration``
  (open loop); ``doc`` (3500), ``turns`` (``3..5``), ``question`` (50), ``output`` (830), ``think`` (mean
  seconds of an exponential pause, or ``fixed(S)``; 1 closed loop, 30 open loop), ``system`` (0), ``docs``
  (0 = a document per conversation), ``zipf`` (1).
- ``shared``: ``rate``, ``duration``, ``system`` (system prompt tokens), ``prompts`` (distinct system
  prompts, 1), and ``input``/``output`` (the user part after the system prompt) or ``lengths=resample(FILE)``.
- ``rag``: ``rate``, ``duration``, ``docs``, ``zipf`` (1), ``doc`` (2000), ``question`` (50), ``output``
  (200), ``system`` (0).
- all: ``block`` (tokens per hash id, 16), ``model``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from breakeven.errors import InputError, UnknownNameError
from traces.conversations import (
    CLOSED_LOOP_THINK_S,
    OPEN_LOOP_THINK_S,
    ConversationShape,
    ThinkTime,
    closed_loop_conversations,
    conversations,
    rag,
    shared_prompt,
)
from traces.lengths import LengthModel
from traces.model import Trace, TraceMeta
from traces.prefix import DEFAULT_BLOCK_TOKENS

_ALL: Final = ("block", "model")
PREFIX_KIND_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "conversations": (
        "users",
        "count",
        "rate",
        "duration",
        "doc",
        "turns",
        "question",
        "output",
        "think",
        "system",
        "docs",
        "zipf",
        *_ALL,
    ),
    "shared": ("rate", "duration", "system", "prompts", "input", "output", "lengths", *_ALL),
    "rag": ("rate", "duration", "docs", "zipf", "doc", "question", "output", "system", *_ALL),
}

Parsers = tuple[Callable[[str, str], float], Callable[[str, str], float], Callable[[str, str, str], LengthModel]]


@dataclass(frozen=True)
class PrefixSpec:
    """A parsed spec of a generator with prefix structure; :meth:`generate` draws the trace."""

    kind: str
    text: str
    draw: Callable[[np.random.Generator], Trace]

    def generate(self, rng: np.random.Generator) -> Trace:
        """Draw the trace with ``rng`` (same seed, same trace)."""
        trace = self.draw(rng)
        meta = trace.meta
        return Trace(
            df=trace.df,
            meta=TraceMeta(
                source=f"synthetic:{self.text}",
                format="synthetic",
                block_tokens=meta.block_tokens,
                closed_loop_users=meta.closed_loop_users,
            ),
        )


def _int(text: str, where: str, *, low: int = 0) -> int:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: expected a whole number, found {text!r}") from None
    if not value.is_integer() or value < low:
        raise InputError(f"{where}: expected a whole number ≥ {low}, found {text!r}")
    return int(value)


def _float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: expected a number, found {text!r}") from None


def parse_turns(text: str, where: str) -> tuple[int, int]:
    """``"4"`` or ``"3..5"`` → (low, high)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:(?:\.\.|-)\s*(\d+)\s*)?", text)
    if not match:
        raise InputError(f"{where}: expected a turn count like 4 or a range like 3..5, found {text!r}")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) else low
    if not 1 <= low <= high:
        raise InputError(f"{where}: expected 1 ≤ low ≤ high, found {text!r}")
    return low, high


def parse_think(text: str, where: str) -> ThinkTime:
    """``"20"`` (exponential, mean 20 s), ``"exp(20)"`` or ``"fixed(20)"``."""
    match = re.fullmatch(r"\s*(?:(fixed|exp)\s*\(\s*([^)]*)\)|([^()]*))\s*", text)
    if not match:
        raise InputError(f"{where}: expected seconds like 20, exp(20) or fixed(20), found {text!r}")
    value = _float(match.group(2) if match.group(1) else match.group(3), where)
    if value < 0:
        raise InputError(f"{where}: expected seconds ≥ 0, found {text!r}")
    return ThinkTime(value, fixed=match.group(1) == "fixed")


def parse_prefix_spec(
    kind: str, params: dict[str, str], text: str, *, where: str, parsers: Parsers, lengths: Callable[[], object]
) -> PrefixSpec:
    """Build a :class:`PrefixSpec` from already split ``params`` (see the module docstring).

    ``parsers`` are spec.py's (rate, duration, length) parsers; ``lengths`` parses ``input``/``output``/
    ``lengths`` into a pair model (for ``shared``).
    """
    for key in params:
        if key not in PREFIX_KIND_KEYS[kind]:
            raise UnknownNameError(f"key for {kind}", key, PREFIX_KIND_KEYS[kind], context=where)
    keys = _Keys(params, where, parsers)
    return PrefixSpec(kind, text, _BUILDERS[kind](keys, keys.common(), lengths))


@dataclass(frozen=True)
class _Keys:
    """A spec's keys, read with their defaults; ``where`` prefixes every error."""

    params: dict[str, str]
    where: str
    parsers: Parsers

    def whole(self, key: str, default: int | None = None, *, low: int = 0) -> int:
        text = self.required(key) if default is None else self.params.get(key, str(default))
        return _int(text, f"{self.where}: {key}", low=low)

    def number(self, key: str, default: float) -> float:
        return _float(self.params.get(key, str(default)), f"{self.where}: {key}")

    def length(self, key: str, default: int, column: str = "input_tokens") -> LengthModel:
        return self.parsers[2](self.params.get(key, str(default)), f"{self.where}: {key}", column)

    def rate_duration(self) -> tuple[float, float]:
        """``rate`` [1/s] and ``duration`` [s], both required."""
        rate_of, duration_of, _ = self.parsers
        return (
            rate_of(self.required("rate"), f"{self.where}: rate"),
            duration_of(self.required("duration"), f"{self.where}: duration"),
        )

    def required(self, key: str) -> str:
        return _required(self.params, key, self.where)

    def common(self) -> dict[str, Any]:
        """The keys every kind takes: ``block`` (16), ``system`` (0) and ``model``."""
        block_tokens = self.whole("block", DEFAULT_BLOCK_TOKENS, low=1)
        return {
            "system_tokens": self.whole("system", 0),
            "block_tokens": block_tokens,
            "model": self.params.get("model"),
        }


Draw = Callable[[np.random.Generator], Trace]


def _conversations(keys: _Keys, common: dict[str, Any], _lengths: Callable[[], object]) -> Draw:
    closed = "users" in keys.params or "count" in keys.params
    if closed and ("rate" in keys.params or "duration" in keys.params):
        raise InputError(f"{keys.where}: give users= and count= (closed loop) or rate= and duration= (open loop)")
    model = common.pop("model")
    think_default = CLOSED_LOOP_THINK_S if closed else OPEN_LOOP_THINK_S
    shape = ConversationShape(
        doc=keys.length("doc", 3500),
        question=keys.length("question", 50),
        output=keys.length("output", 830, "output_tokens"),
        turns=parse_turns(keys.params.get("turns", "3..5"), f"{keys.where}: turns"),
        docs=keys.whole("docs", 0),
        zipf=keys.number("zipf", 1),
        think=parse_think(keys.params.get("think", str(think_default)), f"{keys.where}: think"),
        **common,
    )
    if closed:
        n_users, n_conv = keys.whole("users", low=1), keys.whole("count", low=1)
        return lambda rng: closed_loop_conversations(n_users, n_conv, rng, shape=shape, model=model)
    rate, duration = keys.rate_duration()
    return lambda rng: conversations(rate, duration, rng, shape=shape, model=model)


def _shared(keys: _Keys, common: dict[str, Any], lengths: Callable[[], object]) -> Draw:
    rate, duration = keys.rate_duration()
    pairs = lengths()
    prompts = keys.whole("prompts", 1, low=1)
    return lambda rng: shared_prompt(rate, duration, pairs, rng, prompts=prompts, **common)  # type: ignore[arg-type]


def _rag(keys: _Keys, common: dict[str, Any], _lengths: Callable[[], object]) -> Draw:
    rate, duration = keys.rate_duration()
    docs = keys.whole("docs", low=1)
    zipf = keys.number("zipf", 1)
    doc, question = keys.length("doc", 2000), keys.length("question", 50)
    output = keys.length("output", 200, "output_tokens")
    return lambda rng: rag(
        rate, duration, rng, docs=docs, zipf=zipf, doc=doc, question=question, output=output, **common
    )


_BUILDERS: Final[dict[str, Callable[[_Keys, dict[str, Any], Callable[[], object]], Draw]]] = {
    "conversations": _conversations,
    "shared": _shared,
    "rag": _rag,
}
"""Each kind of :data:`PREFIX_KIND_KEYS` → the function that reads its keys into a draw."""


def _required(params: dict[str, str], key: str, where: str) -> str:
    if key not in params:
        raise InputError(f"{where}: missing key {key!r}")
    return params[key]
