"""A small text syntax for synthetic traces, shared by ``breakeven trace generate spec`` and
``breakeven analyze --synthetic SPEC``::

    KIND:key=value,key=value,...

    poisson:rate=2,duration=1h,input=lognormal(800,1500),output=fixed(220)
    bursty:rate=2,cv=3,duration=30m,input=fixed(80),output=lognormal(median=220,p90=900,max=4096)
    bursty:rate=5,on=60,off=240,duration=2h,lengths=resample(tests/data/traces/azure_code.csv)
    diurnal:rate=3,duration=1d,peak_to_trough=4,peak_hour=15,input=fixed(1000),output=fixed(200)
    diurnal:rate=3,duration=1d,hourly=1;1;1;1;1;1;2;3;4;5;5;5;5;5;5;5;4;3;3;2;2;1;1;1,input=...,output=...

Kinds with prefix structure (``conversations``, ``shared``, ``rag``; hash_ids included) are described in
:mod:`traces.prefix_spec`.

Keys:

- ``rate``: mean request rate; a number is req/s, or add ``/s``, ``/min``, ``/h`` (``rate=7200/h``).
- ``duration``: seconds, or add ``s``, ``m``, ``h``, ``d`` (``duration=1h``).
- ``input`` / ``output``: a length model — ``fixed(N)`` or a bare ``N``; ``lognormal(MEAN,P90)`` or with
  keywords ``lognormal(mean=..,p90=..,max=..,min=..)`` / ``lognormal(median=..,p90=..)``;
  ``resample(FILE)`` draws that file's input (or output) lengths.
- ``lengths=resample(FILE)``: draw input/output *pairs* from FILE (keeps their correlation) instead of
  ``input``/``output``.
- ``model``: label every request with this model name.
- ``bursty``: ``cv`` (Gamma inter-arrival coefficient of variation, default 2) or ``on`` and ``off``
  (seconds busy / idle; the rate during ``on`` is ``rate·(on+off)/on``).
- ``diurnal``: ``peak_to_trough`` (default 3) and ``peak_hour`` (default 14) for a sinusoid, or ``hourly``
  (24 ``;``-separated weights); ``start_hour`` is the hour of day at t = 0 (default 0).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from breakeven.errors import InputError, UnknownNameError
from traces.generators import PEAK_HOUR, PEAK_TO_TROUGH, bursty, diurnal, on_off, poisson
from traces.lengths import Fixed, LengthModel, Lengths, LengthsLike, LogNormal, Resampled, ResampledPairs
from traces.loaders import load_trace
from traces.model import Trace, TraceMeta
from traces.prefix_spec import PREFIX_KIND_KEYS, PrefixSpec, parse_prefix_spec

_COMMON: Final = ("rate", "duration", "input", "output", "lengths", "model")
KIND_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "poisson": _COMMON,
    "bursty": (*_COMMON, "cv", "on", "off"),
    "diurnal": (*_COMMON, "peak_to_trough", "peak_hour", "hourly", "start_hour"),
}
_DURATION_UNITS: Final = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_RATE_UNITS: Final = {"": 1.0, "/s": 1.0, "/m": 1 / 60.0, "/min": 1 / 60.0, "/h": 1 / 3600.0}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$", re.DOTALL)


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside parentheses (a loop over the spec's characters, not over requests)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _with_unit(text: str, units: dict[str, float], what: str, where: str) -> float:
    match = re.fullmatch(rf"\s*({_NUMBER})\s*([/a-z]*)\s*", text)
    if not match or match.group(2) not in units:
        choices = ", ".join(u for u in units if u)
        raise InputError(f"{where}: expected {what} (a number, optionally with {choices}), found {text!r}")
    return float(match.group(1)) * units[match.group(2)]


def parse_duration_s(text: str, *, where: str = "duration") -> float:
    """``"90"``, ``"90s"``, ``"30m"``, ``"1.5h"``, ``"1d"`` → seconds."""
    value = _with_unit(text, _DURATION_UNITS, "a duration", where)
    if not value > 0:
        raise InputError(f"{where}: expected a positive duration, found {text!r}")
    return value


def parse_rate_rps(text: str, *, where: str = "rate") -> float:
    """``"2"``, ``"2/s"``, ``"120/min"``, ``"7200/h"`` → requests per second."""
    value = _with_unit(text, _RATE_UNITS, "a request rate", where)
    if not value > 0:
        raise InputError(f"{where}: expected a positive request rate, found {text!r}")
    return value


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: expected a number, found {text!r}") from None


def _call_args(body: str, where: str) -> tuple[list[str], dict[str, str]]:
    positional, keywords = [], {}
    for item in _split_top(body):
        key, sep, value = item.partition("=")
        if sep:
            if key.strip() in keywords:
                raise InputError(f"{where}: argument {key.strip()!r} is given twice in {body!r}; expected once")
            keywords[key.strip()] = value.strip()
        elif keywords:
            raise InputError(f"{where}: positional argument {item!r} after keyword arguments")
        else:
            positional.append(item)
    return positional, keywords


_TraceLoader = Callable[[str], Trace]


def parse_length_spec(
    text: str, *, column: str = "output_tokens", where: str = "length", loader: _TraceLoader | None = None
) -> LengthModel:
    """Parse ``fixed(220)``, ``220``, ``lognormal(800,1500)``, ``lognormal(median=..,p90=..,max=..)`` or
    ``resample(FILE)`` (that file's ``column``) into a length model."""
    try:
        return _parse_length(text, column, where, loader)
    except UnknownNameError:
        raise
    except InputError as exc:
        if str(exc).startswith(where):
            raise
        raise InputError(f"{where}: {exc}") from exc


def _parse_length(text: str, column: str, where: str, loader: _TraceLoader | None) -> LengthModel:
    text = text.strip()
    if re.fullmatch(_NUMBER, text):
        return Fixed(int(_number(text, where)) if float(text).is_integer() else _bad_fixed(text, where))
    match = _CALL.match(text)
    if not match:
        raise InputError(f"{where}: expected fixed(N), lognormal(MEAN,P90) or resample(FILE), found {text!r}")
    name, body = match.group(1).lower(), match.group(2)
    args, kwargs = _call_args(body, where)
    if name == "fixed":
        if len(args) != 1 or kwargs:
            raise InputError(f"{where}: expected fixed(N) with one token count, found {text!r}")
        value = _number(args[0], where)
        return Fixed(int(value) if value.is_integer() else _bad_fixed(args[0], where))
    if name == "lognormal":
        return _lognormal(args, kwargs, text, where)
    if name == "resample":
        if len(args) != 1 or kwargs:
            raise InputError(f"{where}: expected resample(FILE), found {text!r}")
        trace = (loader or load_trace)(args[0])
        return Resampled(trace.df[column].to_numpy(), label=args[0])
    raise UnknownNameError("length model", name, ("fixed", "lognormal", "resample"), context=where)


def _bad_fixed(text: str, where: str) -> int:
    raise InputError(f"{where}: expected an integer token count, found {text!r}")


def _lognormal(args: list[str], kwargs: dict[str, str], text: str, where: str) -> LogNormal:
    allowed = {"mean", "median", "p90", "max", "min"}
    unknown = set(kwargs) - allowed
    if unknown:
        raise UnknownNameError("lognormal argument", sorted(unknown)[0], allowed, context=where)
    if len(args) > 2:
        raise InputError(f"{where}: expected lognormal(MEAN,P90), found {text!r}")
    values = dict(zip(("mean", "p90"), args, strict=False)) | kwargs
    if "p90" not in values or ("mean" not in values and "median" not in values):
        raise InputError(f"{where}: expected lognormal(MEAN,P90) or lognormal(median=M,p90=Q), found {text!r}")
    nums = {k: _number(v, f"{where}: {k}") for k, v in values.items()}
    return LogNormal(
        p90=nums["p90"],
        mean=nums.get("mean"),
        median=nums.get("median"),
        low=int(nums.get("min", 1)),
        high=int(nums["max"]) if "max" in nums else None,
    )


@dataclass(frozen=True)
class SyntheticSpec:
    """A parsed synthetic-trace spec; :meth:`generate` draws the trace."""

    kind: str
    rate_rps: float
    duration_s: float
    lengths: LengthsLike
    text: str
    model: str | None = None
    options: dict[str, object] = field(default_factory=dict)

    def generate(self, rng: np.random.Generator) -> Trace:
        """Draw the trace with ``rng`` (same seed, same trace)."""
        opts = self.options
        if self.kind == "poisson":
            trace = poisson(self.rate_rps, self.duration_s, self.lengths, rng, model=self.model)
        elif self.kind == "bursty" and "on" in opts:
            trace = on_off(
                self.rate_rps,
                self.duration_s,
                self.lengths,
                rng,
                on_s=float(opts["on"]),  # type: ignore[arg-type]
                off_s=float(opts["off"]),  # type: ignore[arg-type]
                model=self.model,
            )
        elif self.kind == "bursty":
            cv = float(opts.get("cv", 2.0))  # type: ignore[arg-type]
            trace = bursty(self.rate_rps, self.duration_s, self.lengths, rng, cv=cv, model=self.model)
        else:
            trace = diurnal(
                self.rate_rps,
                self.duration_s,
                self.lengths,
                rng,
                peak_to_trough=float(opts.get("peak_to_trough", PEAK_TO_TROUGH)),  # type: ignore[arg-type]
                peak_hour=float(opts.get("peak_hour", PEAK_HOUR)),  # type: ignore[arg-type]
                hourly=opts.get("hourly"),  # type: ignore[arg-type]
                start_hour=float(opts.get("start_hour", 0.0)),  # type: ignore[arg-type]
                model=self.model,
            )
        return Trace(df=trace.df, meta=TraceMeta(source=f"synthetic:{self.text}", format="synthetic"))


def parse_spec(spec: str, *, loader: _TraceLoader | None = None) -> SyntheticSpec | PrefixSpec:
    """Parse ``KIND:key=value,...`` (see the module docstring) without drawing anything."""
    where = f"synthetic spec {spec!r}"
    kind, sep, body = spec.partition(":")
    kind = kind.strip().lower()
    if not sep:
        raise InputError(
            f"{where}: expected KIND:key=value,... like poisson:rate=2,duration=1h,input=fixed(800),output=fixed(200)"
        )
    if kind not in KIND_KEYS and kind not in PREFIX_KIND_KEYS:
        raise UnknownNameError("synthetic trace kind", kind, [*KIND_KEYS, *PREFIX_KIND_KEYS], context=where)
    params: dict[str, str] = {}
    for item in _split_top(body):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or not value.strip():
            raise InputError(f"{where}: expected key=value, found {item!r}")
        if key not in KIND_KEYS.get(kind, PREFIX_KIND_KEYS.get(kind, ())):
            keys = KIND_KEYS.get(kind, PREFIX_KIND_KEYS.get(kind, ()))
            raise UnknownNameError(f"key for {kind}", key, keys, context=where)
        if key in params:
            raise InputError(
                f"{where}: key {key!r} is given twice ({params[key]!r} and {value.strip()!r}); expected it once"
            )
        params[key] = value.strip()
    if kind in PREFIX_KIND_KEYS:

        def length(text: str, at: str, column: str) -> LengthModel:
            return parse_length_spec(text, column=column, where=at, loader=loader)

        parsers = (
            lambda text, at: parse_rate_rps(text, where=at),
            lambda text, at: parse_duration_s(text, where=at),
            length,
        )
        return parse_prefix_spec(
            kind,
            params,
            spec.strip(),
            where=where,
            parsers=parsers,
            lengths=lambda: _parse_lengths(params, where, loader),
        )
    for required in ("rate", "duration"):
        if required not in params:
            raise InputError(f"{where}: missing key {required!r}; expected e.g. rate=2,duration=1h")
    rate = parse_rate_rps(params["rate"], where=f"{where}: rate")
    duration = parse_duration_s(params["duration"], where=f"{where}: duration")
    lengths = _parse_lengths(params, where, loader)
    options: dict[str, object] = {}
    if kind == "bursty":
        if ("on" in params) != ("off" in params):
            raise InputError(f"{where}: on/off bursts need both on= and off= (seconds)")
        if "on" in params and "cv" in params:
            raise InputError(f"{where}: give either cv= (Gamma gaps) or on=/off= (on/off bursts), not both")
        for key in ("cv", "on", "off"):
            if key in params:
                options[key] = (
                    parse_duration_s(params[key], where=f"{where}: {key}")
                    if key != "cv"
                    else _number(params[key], f"{where}: cv")
                )
    if kind == "diurnal":
        for key in ("peak_to_trough", "peak_hour", "start_hour"):
            if key in params:
                options[key] = _number(params[key], f"{where}: {key}")
        if "hourly" in params:
            options["hourly"] = [_number(v, f"{where}: hourly") for v in params["hourly"].split(";") if v.strip()]
    return SyntheticSpec(
        kind=kind,
        rate_rps=rate,
        duration_s=duration,
        lengths=lengths,
        text=spec.strip(),
        model=params.get("model"),
        options=options,
    )


def _parse_lengths(params: dict[str, str], where: str, loader: _TraceLoader | None) -> LengthsLike:
    cache: dict[str, Trace] = {}

    def cached(path: str) -> Trace:
        if path not in cache:
            cache[path] = (loader or load_trace)(path)
        return cache[path]

    if "lengths" in params:
        if "input" in params or "output" in params:
            raise InputError(f"{where}: give either lengths=resample(FILE) or input= and output=, not both")
        match = _CALL.match(params["lengths"])
        if not match or match.group(1).lower() != "resample":
            raise InputError(f"{where}: lengths: expected resample(FILE), found {params['lengths']!r}")
        path = match.group(2).strip()
        trace = cached(path)
        return ResampledPairs(trace.df["input_tokens"].to_numpy(), trace.df["output_tokens"].to_numpy(), label=path)
    missing = [k for k in ("input", "output") if k not in params]
    if missing:
        raise InputError(
            f"{where}: missing {' and '.join(missing)}=; expected e.g. input=lognormal(800,1500),output=fixed(220)"
        )
    return Lengths(
        input=parse_length_spec(params["input"], column="input_tokens", where=f"{where}: input", loader=cached),
        output=parse_length_spec(params["output"], column="output_tokens", where=f"{where}: output", loader=cached),
    )


def parse_synthetic_spec(spec: str, rng: np.random.Generator) -> Trace:
    """Parse ``spec`` (see the module docstring) and draw the trace with ``rng``."""
    return parse_spec(spec).generate(rng)
