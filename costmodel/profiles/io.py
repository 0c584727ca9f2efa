"""Load and save profile JSON (``llm-breakeven/profile/v1``), and the profiles bundled with the package.

:func:`load_profile` checks the ``schema`` id first, then validates strictly (unknown keys, negative
numbers, wrong types are errors) and reports the first problems as :class:`InputError` naming the file
and the key path, e.g. ``profile.json: warm[2].ttft_ms.p50: expected a number >= 0, found -3``.
:func:`save_profile` writes atomically (temporary file + rename).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from breakeven.errors import InputError, UnknownNameError
from breakeven.io import PathOrBuffer, atomic_write_text, check_utf8, read_bytes, source_name
from costmodel.profiles.schema import PROFILE_SCHEMA, Profile

_BUNDLED = ("data", "profiles")
_MAX_REPORTED = 3


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in a profile")


def _field_names(loc: Sequence[int | str]) -> list[str]:
    """The valid keys of the model at ``loc`` (for 'unknown key' messages)."""
    model: Any = Profile
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", {})
        info = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
        if info is None:
            return []
        annotation = info.annotation
        model = next(
            (
                a
                for a in (annotation, *getattr(annotation, "__args__", ()))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            None,
        )
        if model is None:
            for arg in getattr(annotation, "__args__", ()):
                inner = next(
                    (a for a in getattr(arg, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)),
                    None,
                )
                if inner is not None:
                    model = inner
                    break
        if model is None:
            return []
    fields = getattr(model, "model_fields", {})
    return sorted((f.alias or name) for name, f in fields.items())


def _format_loc(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(error: Any) -> str:
    loc = list(error.get("loc", ()))
    kind = error.get("type", "")
    found = error.get("input")
    if kind == "extra_forbidden":
        valid = _field_names(loc[:-1])
        choices = f"; valid keys: {', '.join(valid)} (expected one of them)" if valid else "; expected no such key"
        return f"{_format_loc(loc)}: unknown key{choices}"
    if kind == "missing":
        return f"{_format_loc(loc)}: missing required key; expected it to be present"
    expected = error.get("msg", "invalid value")
    ctx = error.get("ctx") or {}
    if kind in {"greater_than_equal", "greater_than"}:
        op = ">=" if kind == "greater_than_equal" else ">"
        bound = ctx.get("ge", ctx.get("gt"))
        expected = f"expected a number {op} {bound}"
    else:
        expected = f"expected: {expected[0].lower()}{expected[1:]}" if expected else "invalid value"
    return f"{_format_loc(loc)}: {expected}, found {found!r}"


def parse_profile(data: bytes | str | dict[str, Any], *, source: str = "<profile>") -> Profile:
    """Validate profile JSON (bytes, text or an already-decoded dict) into a :class:`Profile`."""
    if isinstance(data, dict):
        obj: Any = data
    else:
        if isinstance(data, bytes):
            check_utf8(data, source)
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InputError(f"{source}: not UTF-8 text (byte {exc.start}); expected a profile JSON file") from exc
        else:
            text = data
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{source}:{exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno}); expected a profile JSON object"
            ) from exc
        except ValueError as exc:
            raise InputError(f"{source}: {exc}; expected finite numbers or null") from exc
    if not isinstance(obj, dict):
        raise InputError(f"{source}: expected a JSON object (a profile), found {type(obj).__name__}")
    schema = obj.get("schema")
    if schema != PROFILE_SCHEMA:
        found = "no 'schema' key" if schema is None else repr(schema)
        raise InputError(f"{source}: schema: expected {PROFILE_SCHEMA!r}, found {found}")
    try:
        return Profile.model_validate(obj)
    except ValidationError as exc:
        errors = exc.errors()
        shown = "; ".join(_describe(e) for e in errors[:_MAX_REPORTED])
        more = f" (and {len(errors) - _MAX_REPORTED} more)" if len(errors) > _MAX_REPORTED else ""
        raise InputError(f"{source}: {shown}{more}") from exc


def load_profile(src: PathOrBuffer) -> Profile:
    """Read a profile JSON file (path or file-like object) and validate it (see the module docstring)."""
    return parse_profile(read_bytes(src), source=source_name(src))


def save_profile(profile: Profile, path: str | os.PathLike[str]) -> Path:
    """Write ``profile`` as JSON to ``path`` atomically; returns the path."""
    return atomic_write_text(path, profile.dump_json() + "\n")


def bundled_profile_names() -> list[str]:
    """Names of the profiles shipped with the package (file stems under ``costmodel/data/profiles``)."""
    folder = resources.files("costmodel").joinpath(*_BUNDLED)
    return sorted(entry.name.removesuffix(".json") for entry in folder.iterdir() if entry.name.endswith(".json"))


def bundled_profile(name: str) -> Profile:
    """A profile shipped with the package, by file stem (``'llama-3.1-8b-fp8_1xH100'``) or by its ``id``.

    Raises :class:`UnknownNameError` listing the bundled names.
    """
    folder = resources.files("costmodel").joinpath(*_BUNDLED)
    names = bundled_profile_names()
    stem = name.removesuffix(".json")
    if stem in names:
        entry = folder.joinpath(f"{stem}.json")
        return parse_profile(entry.read_bytes(), source=f"costmodel/data/profiles/{stem}.json")
    for candidate in names:
        profile = parse_profile(
            folder.joinpath(f"{candidate}.json").read_bytes(), source=f"costmodel/data/profiles/{candidate}.json"
        )
        if profile.id == name:
            return profile
    raise UnknownNameError("bundled profile", name, names)


def profile_from_path_or_name(path: str | os.PathLike[str]) -> Profile:
    """A profile JSON file, or (when no such file exists) a profile bundled with the package, by name.

    Neither a file nor a bundled name raises :class:`InputError` listing the bundled names and the nearest
    one (a mistyped name is the usual cause).
    """
    text = os.fspath(path)
    if Path(text).exists():
        return load_profile(text)
    names = bundled_profile_names()
    if text.removesuffix(".json") in names:
        return bundled_profile(text)
    close = difflib.get_close_matches(text.removesuffix(".json"), names, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(
        f"{text}: file not found, and no bundled profile has that name{hint}; expected a profile JSON file or "
        f"one of the bundled names: {', '.join(names)}"
    )
