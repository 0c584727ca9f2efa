"""What every ``breakeven`` sub-command shares: consoles, JSON output, error handling, list parsing.

Sub-command modules (``pricing.cli``, ``traces.cli``, ``costmodel.profiles.cli``, ...) build their own
``typer.Typer`` with :func:`new_app`; ``costmodel.cli`` composes them into the one ``breakeven`` CLI.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import math
import sys
import typing
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer._click import Context as ClickContext  # typer vendors click since 0.20
from typer.core import TyperGroup

from breakeven.errors import BreakevenError, InputError

R = TypeVar("R")

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


class OptionGroup:
    """Base of a frozen dataclass of options that belong together, declared once: the options several commands
    share (``traces.cli.TraceReading``), or those one command turns into one library value (the finance
    options into a ``FinanceRequest``).

    Each field is a typer ``Annotated`` option with its default; a command decorated with
    :func:`with_option_groups` takes the group as one parameter (``reading: TraceReading``) and typer shows
    its fields, in their order, where that parameter stands (``--help`` is as if they were written there).
    The group's methods hold what is done with those options (load a trace, open a catalog, build a request).
    """


def with_option_groups(command: Callable[..., R]) -> Callable[..., R]:
    """``command`` with each :class:`OptionGroup` parameter spelt out as its fields for typer; the command is
    called with the group built from them. A direct call may pass the group, or its fields as keywords."""
    signature = inspect.signature(command, eval_str=True)
    params: list[inspect.Parameter] = []
    groups: dict[str, tuple[type[OptionGroup], list[str]]] = {}
    for param in signature.parameters.values():
        group = param.annotation
        if not (isinstance(group, type) and issubclass(group, OptionGroup)):
            params.append(param)
            continue
        hints = typing.get_type_hints(group, include_extras=True)
        fields = dataclasses.fields(group)  # type: ignore[arg-type]
        groups[param.name] = (group, [f.name for f in fields])
        params += [
            inspect.Parameter(
                f.name,
                param.kind,
                annotation=hints[f.name],
                default=inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default,
            )
            for f in fields
        ]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> R:
        for name, (group, fields) in groups.items():
            if name not in kwargs:  # typer (or a caller) gave the fields, not the group
                kwargs[name] = group(**{f: kwargs.pop(f) for f in fields if f in kwargs})
        return command(*args, **kwargs)

    run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return run


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
