"""The one exception tree of llm-breakeven.

Every error the tool raises on purpose derives from :class:`BreakevenError`; the CLI catches that base
class, prints its message on one line and exits non-zero. Library code translates pandas / pydantic /
httpx / OS errors at the boundary with ``raise ... from exc``.

::

    BreakevenError
     ├── InputError            a file or value the user gave is wrong (names file, line/key, expected, found)
     ├── UnknownNameError      an id / name / format that is not known (lists the valid choices)
     ├── ModelError            the inputs are valid but the question has no answer (e.g. SLO unreachable)
     └── MeasurementError      a live measurement failed (server down, timed out, bad stream)

Messages follow one shape so that a user can fix the input without reading code::

    <where>: <what is wrong>; expected <what>, found <what>

where ``<where>`` is ``file:line``, ``file: entry 'id', field 'x'`` or ``option --name``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable


class BreakevenError(Exception):
    """Base class of every error llm-breakeven raises on purpose."""

    exit_code: int = 1


class InputError(BreakevenError, ValueError):
    """A user-supplied file or value is malformed, out of range or in the wrong unit.

    Build messages with :func:`where` so that every error names its file and line or key.
    """

    exit_code = 2


class UnknownNameError(InputError, KeyError):
    """An id, name or format was asked for that does not exist. The message lists the choices."""

    def __init__(self, kind: str, name: str, choices: Iterable[str], *, context: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.choices = sorted(set(choices))
        shown = ", ".join(self.choices[:20])
        if len(self.choices) > 20:
            shown += f", ... ({len(self.choices) - 20} more)"
        prefix = f"{context}: " if context else ""
        hint = _closest(name, self.choices)
        did_you_mean = f" (did you mean {hint!r}?)" if hint else ""
        super().__init__(
            f"{prefix}unknown {kind} {name!r}{did_you_mean}; expected one of the valid choices: {shown or '(none)'}"
        )

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable
        return str(self.args[0])


class ModelError(BreakevenError):
    """The inputs are valid, but the model cannot answer (e.g. no replica meets the SLO)."""


class MeasurementError(BreakevenError):
    """A live measurement against an endpoint or a launched server failed."""


def where(source: str | os.PathLike[str] | None, *, line: int | None = None, key: str | None = None) -> str:
    """Format the location part of an error message: ``file:line`` or ``file: key``."""
    text = os.fspath(source) if source is not None else "<input>"
    if line is not None:
        text = f"{text}:{line}"
    if key is not None:
        text = f"{text}: {key}"
    return text


def _closest(name: str, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(name, choices, n=1, cutoff=0.75)
    return matches[0] if matches else None
