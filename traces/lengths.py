"""Token-length models for synthetic traces: fixed, lognormal (from mean and p90, or median and p90), and
resampled from a real trace (one column, or input/output pairs together so their correlation survives).

Every model draws int64 token counts ≥ 1 (≥ 0 for resampled data) with a ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from breakeven.errors import InputError

Z90 = 1.2815515655446004
"""The standard normal's 90th percentile."""


class LengthModel(Protocol):
    """Draws ``n`` token counts."""

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` int64 token counts."""
        ...

    def describe(self) -> str:
        """The model in spec syntax, e.g. ``lognormal(mean=800,p90=1500)``."""
        ...


@dataclass(frozen=True)
class Fixed:
    """Every request has exactly ``tokens`` tokens."""

    tokens: int

    def __post_init__(self) -> None:
        if self.tokens < 0 or int(self.tokens) != self.tokens:
            raise InputError(f"fixed length: expected a non-negative integer token count, found {self.tokens!r}")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` copies of ``tokens``."""
        return np.full(n, int(self.tokens), dtype=np.int64)

    def describe(self) -> str:
        """Spec syntax."""
        return f"fixed({self.tokens})"


@dataclass(frozen=True)
class LogNormal:
    """Lognormal token counts with a given mean (or median) and 90th percentile, rounded, at least ``low``.

    With ``mean`` m and ``p90`` q: sigma solves ``ln q - ln m = z·sigma - sigma²/2`` (z = 1.2816), which has
    a solution only while ``q / m ≤ exp(z²/2) ≈ 2.27``; heavier tails need ``median`` instead
    (``sigma = ln(q / median) / z``). ``high`` caps the draws (e.g. a context limit); capping lowers the
    mean slightly.
    """

    p90: float
    mean: float | None = None
    median: float | None = None
    low: int = 1
    high: int | None = None
    mu: float = field(init=False)
    sigma: float = field(init=False)

    def __post_init__(self) -> None:
        if (self.mean is None) == (self.median is None):
            raise InputError("lognormal length: give exactly one of mean= or median=, plus p90=")
        center = self.mean if self.mean is not None else self.median
        if center is None or not center > 0 or not self.p90 > 0:
            raise InputError(f"lognormal length: expected positive mean/median and p90, found {center!r}, {self.p90!r}")
        if self.median is not None:
            if self.p90 < self.median:
                raise InputError(f"lognormal length: p90 ({self.p90}) must be at least the median ({self.median})")
            sigma = math.log(self.p90 / self.median) / Z90
            mu = math.log(self.median)
        else:
            gap = math.log(self.p90 / center)
            limit = Z90 * Z90 / 2
            if gap > limit:
                raise InputError(
                    f"lognormal length: no lognormal has mean {center:g} and p90 {self.p90:g} "
                    f"(p90 / mean must be at most {math.exp(limit):.2f}, found {self.p90 / center:.2f}); "
                    f"use lognormal(median={center:g},p90={self.p90:g}) for a heavier tail"
                )
            if gap < 0:
                raise InputError(f"lognormal length: p90 ({self.p90:g}) below the mean ({center:g}) is not supported")
            sigma = Z90 - math.sqrt(Z90 * Z90 - 2 * gap)  # the root with sigma < z (p90 above the mean)
            mu = math.log(center) - sigma * sigma / 2
        if self.high is not None and self.high < self.low:
            raise InputError(f"lognormal length: max ({self.high}) below min ({self.low})")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "sigma", sigma)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rounded lognormal draws, clipped to ``[low, high]``."""
        draws = np.rint(rng.lognormal(self.mu, self.sigma, size=n))
        return np.clip(draws, self.low, self.high if self.high is not None else None).astype(np.int64)

    def describe(self) -> str:
        """Spec syntax."""
        center = f"mean={self.mean:g}" if self.mean is not None else f"median={self.median:g}"
        cap = f",max={self.high}" if self.high is not None else ""
        return f"lognormal({center},p90={self.p90:g}{cap})"


@dataclass(frozen=True)
class Resampled:
    """Token counts drawn with replacement from observed values (e.g. a real trace's output lengths)."""

    values: np.ndarray
    label: str = "data"

    def __post_init__(self) -> None:
        if len(self.values) == 0:
            raise InputError(f"resample({self.label}): expected at least one observed length, found none")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws with replacement."""
        return np.asarray(self.values, dtype=np.int64)[rng.integers(0, len(self.values), size=n)]

    def describe(self) -> str:
        """Spec syntax."""
        return f"resample({self.label})"


@dataclass(frozen=True)
class Lengths:
    """Input and output length models drawn independently."""

    input: LengthModel
    output: LengthModel

    def sample_pairs(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(input_tokens, output_tokens), int64 arrays of length ``n``. Input is drawn first."""
        return self.input.sample(n, rng), self.output.sample(n, rng)

    def describe(self) -> str:
        """Spec syntax."""
        return f"input={self.input.describe()},output={self.output.describe()}"


@dataclass(frozen=True)
class ResampledPairs:
    """(input, output) pairs drawn together from a real trace, keeping their joint distribution."""

    input_tokens: np.ndarray
    output_tokens: np.ndarray
    label: str = "data"

    def __post_init__(self) -> None:
        if len(self.input_tokens) == 0 or len(self.input_tokens) != len(self.output_tokens):
            raise InputError(f"resample({self.label}): expected equal, non-empty input and output columns")

    def sample_pairs(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(input_tokens, output_tokens) of ``n`` rows drawn with replacement."""
        rows = rng.integers(0, len(self.input_tokens), size=n)
        return (
            np.asarray(self.input_tokens, dtype=np.int64)[rows],
            np.asarray(self.output_tokens, dtype=np.int64)[rows],
        )

    def describe(self) -> str:
        """Spec syntax."""
        return f"lengths=resample({self.label})"


LengthsLike = Lengths | ResampledPairs
