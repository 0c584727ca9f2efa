"""Prompts of a requested token length, calibrated against the server's own token count.

A prompt is a short instruction followed by common English words drawn at random (a seeded
``numpy.random.Generator`` is passed in), so that no two requests share a prefix and the server's prefix
cache cannot make prefill look cheaper than it is. The server's ``usage.prompt_tokens`` for two probe prompts
of different word counts fits ``tokens = intercept + per_word × words`` (the intercept is the chat template
and the instruction); :meth:`Calibration.words_for` then inverts it for any target length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from breakeven.errors import MeasurementError

#: Words that are a single token in the common BPE vocabularies (GPT, Llama, Qwen, Mistral), each with a
#: leading space when joined, so that one word is close to one token before calibration.
_WORDS = """
the of and to in is was for on that with as by at from his he it an are were which be this had not or have but
one their has they also its first been two new after who other all more she when there time into only would can
her about over most year up some may where three years out later city many during such used under then known
world state people between both than made him through war while part school being these each well team back
since them four before could early found life same work home what best left high day long end family place five
small way six name group good book north south east west old few still great game water line near side music
point even last set old down own area river house large play land show sea light power room door road town word
hand head eye face mind heart fire tree stone glass paper field market letter story night morning garden window
table chair bread milk horse bird fish cloud rain snow wind summer winter spring autumn
"""
VOCABULARY: tuple[str, ...] = tuple(dict.fromkeys(_WORDS.split()))

INSTRUCTION = "Continue this story for as long as you can, using these words:"


def prompt_text(n_words: int, rng: np.random.Generator) -> str:
    """The instruction and ``n_words`` random vocabulary words (``n_words`` >= 1)."""
    words = np.asarray(VOCABULARY)[rng.integers(0, len(VOCABULARY), size=max(1, n_words))]
    return f"{INSTRUCTION} {' '.join(words.tolist())}"


@dataclass(frozen=True)
class Calibration:
    """``prompt_tokens = intercept_tokens + tokens_per_word × words``, as the server counts."""

    intercept_tokens: float
    tokens_per_word: float
    calibrated: bool  #: False when the server reported no prompt tokens and the defaults are used
    probes: tuple[tuple[int, int], ...] = ()  #: (words, server prompt tokens) of each probe

    def words_for(self, target_tokens: int) -> int:
        """Words to send for ``target_tokens`` prompt tokens (at least 1)."""
        return max(1, round((target_tokens - self.intercept_tokens) / self.tokens_per_word))


#: Used when the server reports no usage: one token per word, plus ~20 for template and instruction.
DEFAULT_CALIBRATION = Calibration(intercept_tokens=20.0, tokens_per_word=1.0, calibrated=False)


def fit_calibration(probes: list[tuple[int, int]]) -> Calibration:
    """Fit the line through (words, prompt tokens) probes; needs two distinct word counts."""
    if len({w for w, _ in probes}) < 2:
        raise MeasurementError(f"prompt calibration: expected probes at two word counts, found {probes}")
    words = np.array([w for w, _ in probes], dtype=float)
    tokens = np.array([t for _, t in probes], dtype=float)
    slope, intercept = np.polyfit(words, tokens, 1)
    if not np.isfinite(slope) or slope < 0.05:  # fewer than 1 token per 20 words: the count is not real
        raise MeasurementError(
            f"prompt calibration: the server's prompt_tokens do not grow with the prompt; found probes {probes}"
        )
    return Calibration(float(intercept), float(slope), calibrated=True, probes=tuple(probes))
