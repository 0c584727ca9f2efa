"""What every ``breakeven`` sub-command shares: consoles, JSON output, error handling, list parsing.

Sub-command modules (``pricing.cli``, ``traces.cli``, ``costmodel.profiles.cli``, ...) build their own
``typer.Typer`` with :func:`new_app`; ``costmodel.cli`` composes them into the one ``breakeven`` CLI.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer._click import Context as ClickContext  # typer vendors click since 0.20
from typer.core import TyperGroup

from breakeven.errors import BreakevenError, InputError

#: Results and tables go to stdout; progress bars, warnings and errors go to stderr so that
#: ``--json`` output can be piped.
stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)  # errors stay on one line


class ErrorHandlingGroup(TyperGroup):
    """A command group that turns :class:`BreakevenError` into one clear line and a non-zero exit."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except BreakevenError as exc:
            message = str(exc).replace("\n", " ").strip()
            stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
            ctx.exit(exc.exit_code)


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, *_: Any, **__: Any
) -> None:
    """Python warnings (a numpy overflow, a library deprecation) as one plain line, not a source excerpt.

    The known causes are fixed at their source; one that still reaches a user is a bug worth reporting, and
    says where it came from so that it can be.
    """
    where = f"{Path(filename).parent.name}/{Path(filename).name}:{lineno}"
    stderr.print(
        f"warning: {category.__name__}: {message} (at {where}; please report it)", markup=False, highlight=False
    )


def new_app(help_text: str, **kwargs: Any) -> typer.Typer:
    """A Typer app with the project's defaults: error handling, no pretty tracebacks, -h for help."""
    return typer.Typer(
        help=help_text,
        cls=ErrorHandlingGroup,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode="rich",
        **kwargs,
    )


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", by_alias=True)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):  # numpy arrays
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(obj: Any, *, indent: int | None = 2) -> str:
    """Strict JSON (no NaN / Infinity: those become null) for pydantic models, numpy and plain values."""
    return json.dumps(_finite(obj), indent=indent, default=_json_default, ensure_ascii=False)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if hasattr(obj, "model_dump"):
        return _finite(obj.model_dump(mode="json", by_alias=True))
    return obj


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON to stdout (no rich markup, no wrapping)."""
    sys.stdout.write(to_json(obj) + "\n")
    sys.stdout.flush()


def parse_number_list(text: str, *, option: str, integer: bool = False, maximum: float | None = None) -> list[float]:
    """Parse ``"30,220,1200"`` into numbers; a bad, negative or (given ``maximum``) too large item raises
    :class:`InputError`."""
    values: list[float] = []
    for raw in text.split(","):
        item = raw.strip().replace("_", "")
        if not item:
            continue
        try:
            value = float(int(item)) if integer else float(item)
        except ValueError as exc:
            kind = "an integer" if integer else "a number"
            raise InputError(f"option {option}: expected {kind} list like 30,220,1200, found {raw!r}") from exc
        if not math.isfinite(value) or value < 0:
            raise InputError(f"option {option}: expected non-negative finite numbers, found {raw!r}")
        if maximum is not None and value > maximum:
            raise InputError(f"option {option}: expected numbers of at most {maximum:,.0f}, found {raw!r}")
        values.append(value)
    if not values:
        raise InputError(f"option {option}: expected at least one number, found {text!r}")
    return values
