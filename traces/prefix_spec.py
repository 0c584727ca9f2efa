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
from typing import Final

import numpy as np

from breakeven.errors import InputError, UnknownNameError
from traces import conversations as conv
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


def parse_think(text: str, where: str) -> conv.ThinkTime:
    """``"20"`` (exponential, mean 20 s), ``"exp(20)"`` or ``"fixed(20)"``."""
    match = re.fullmatch(r"\s*(?:(fixed|exp)\s*\(\s*([^)]*)\)|([^()]*))\s*", text)
    if not match:
        raise InputError(f"{where}: expected seconds like 20, exp(20) or fixed(20), found {text!r}")
    value = _float(match.group(2) if match.group(1) else match.group(3), where)
    if value < 0:
        raise InputError(f"{where}: expected seconds ≥ 0, found {text!r}")
    return conv.ThinkTime(value, fixed=match.group(1) == "fixed")


def parse_prefix_spec(
    kind: str, params: dict[str, str], text: str, *, where: str, parsers: Parsers, lengths: Callable[[], object]
) -> PrefixSpec:
    """Build a :class:`PrefixSpec` from already split ``params`` (see the module docstring).

    ``parsers`` are spec.py's (rate, duration, length) parsers; ``lengths`` parses ``input``/``output``/
    ``lengths`` into a pair model (for ``shared``).
    """
    rate_of, duration_of, length_of = parsers
    for key in params:
        if key not in PREFIX_KIND_KEYS[kind]:
            raise UnknownNameError(f"key for {kind}", key, PREFIX_KIND_KEYS[kind], context=where)
    block = _int(params["block"], f"{where}: block", low=1) if "block" in params else DEFAULT_BLOCK_TOKENS
    system = _int(params.get("system", "0"), f"{where}: system")
    model = params.get("model")

    def length(key: str, default: int, column: str = "input_tokens") -> LengthModel:
        return length_of(params.get(key, str(default)), f"{where}: {key}", column)

    if kind == "conversations":
        closed = "users" in params or "count" in params
        if closed and ("rate" in params or "duration" in params):
            raise InputError(f"{where}: give users= and count= (closed loop) or rate= and duration= (open loop)")
        think_default = conv.CLOSED_LOOP_THINK_S if closed else conv.OPEN_LOOP_THINK_S
        shape = conv.ConversationShape(
            doc=length("doc", 3500),
            question=length("question", 50),
            output=length("output", 830, "output_tokens"),
            turns=parse_turns(params.get("turns", "3..5"), f"{where}: turns"),
            system_tokens=system,
            docs=_int(params.get("docs", "0"), f"{where}: docs"),
            zipf=_float(params.get("zipf", "1"), f"{where}: zipf"),
            think=parse_think(params.get("think", str(think_default)), f"{where}: think"),
            block_tokens=block,
        )
        if closed:
            users, count = (_required(params, key, where) for key in ("users", "count"))
            n_users, n_conv = _int(users, f"{where}: users", low=1), _int(count, f"{where}: count", low=1)
            return PrefixSpec(
                kind, text, lambda rng: conv.closed_loop_conversations(n_users, n_conv, rng, shape=shape, model=model)
            )
        rate = rate_of(_required(params, "rate", where), f"{where}: rate")
        duration = duration_of(_required(params, "duration", where), f"{where}: duration")
        return PrefixSpec(kind, text, lambda rng: conv.conversations(rate, duration, rng, shape=shape, model=model))
    rate = rate_of(_required(params, "rate", where), f"{where}: rate")
    duration = duration_of(_required(params, "duration", where), f"{where}: duration")
    if kind == "shared":
        pairs = lengths()
        prompts = _int(params.get("prompts", "1"), f"{where}: prompts", low=1)
        return PrefixSpec(
            kind,
            text,
            lambda rng: conv.shared_prompt(
                rate,
                duration,
                pairs,  # type: ignore[arg-type]
                rng,
                system_tokens=system,
                prompts=prompts,
                block_tokens=block,
                model=model,
            ),
        )
    docs = _int(_required(params, "docs", where), f"{where}: docs", low=1)
    zipf = _float(params.get("zipf", "1"), f"{where}: zipf")
    doc, question, output = length("doc", 2000), length("question", 50), length("output", 200, "output_tokens")
    return PrefixSpec(
        kind,
        text,
        lambda rng: conv.rag(
            rate,
            duration,
            rng,
            docs=docs,
            zipf=zipf,
            doc=doc,
            question=question,
            output=output,
            system_tokens=system,
            block_tokens=block,
            model=model,
        ),
    )


def _required(params: dict[str, str], key: str, where: str) -> str:
    if key not in params:
        raise InputError(f"{where}: missing key {key!r}")
    return params[key]
