"""Our catalog file format: read, validate and write price entries as TOML (hand-edited) or JSON.

TOML (what the bundled catalog and ``breakeven prices import`` write)::

    [[token]]                       # one table per per-token price
    id = "digitalocean/gpt-oss-120b"
    provider = "digitalocean"
    model = "gpt-oss-120b"
    input_usd_per_mtok = 0.10
    output_usd_per_mtok = 0.70
    as_of = 2026-06-23
    source = "https://dev.to/..."

    [[gpu]]                         # one table per GPU instance price
    id = "digitalocean/gpu-mi300x-1x"
    ...

JSON takes the same shape (``{"token": [...], "gpu": [...]}``) or a list of entries that each carry
``"kind": "token" | "gpu"`` (what ``breakeven prices list --json`` prints, so its output loads back; the
output-only keys ``origin``, ``replaced``, ``age_days`` and ``stale`` are ignored).

Validation errors come back as :class:`~breakeven.errors.InputError` naming the file, the entry id and the
field, never as a pydantic traceback.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from breakeven.errors import InputError
from pricing.models import GpuPrice, OwnedServer, Price, TokenPrice

#: Table name in a catalog file → the schema of its entries.
ENTRY_MODELS: Final[dict[str, type[TokenPrice] | type[GpuPrice] | type[OwnedServer]]] = {
    "token": TokenPrice,
    "gpu": GpuPrice,
    "owned": OwnedServer,  # a GPU server you own (depreciation, power, hosting)
}

#: Keys that ``prices list --json`` adds to each entry; dropped when such a list is loaded back.
OUTPUT_ONLY_KEYS: Final = frozenset({"origin", "replaced", "age_days", "stale"})

_MAX_ERRORS_SHOWN = 3

#: pydantic error types → what the user should have written.
_EXPECTED_BY_TYPE: Final = (
    ("date", "a date YYYY-MM-DD"),
    ("float", "a number"),
    ("int", "a whole number"),
    ("string", "text"),
    ("bool", "true or false"),
    ("list", "a list"),
    ("tuple", "a list"),
    ("dict", "a table"),
    ("model_type", "a table"),
)


# --------------------------------------------------------------------------------------------- reading


def parse_catalog_toml(text: str, *, source: str) -> list[Price]:
    """Parse our TOML catalog text into validated entries; ``source`` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML ({exc}); expected [[token]] / [[gpu]] / [[owned]] tables") from exc
    return parse_catalog_data(data, source=source, allow_list=False)


def parse_catalog_json(text: str, *, source: str) -> list[Price]:
    """Parse our JSON catalog text (object with ``token``/``gpu`` lists, or a list of entries with ``kind``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg}); expected a price catalog") from exc
    return parse_catalog_data(data, source=source, allow_list=True)


def parse_catalog_data(data: Any, *, source: str, allow_list: bool = True) -> list[Price]:
    """Validate already-decoded catalog data (a TOML/JSON document) into entries, in file order.

    Raises :class:`InputError` for unknown tables or fields, bad values, missing ``as_of``/``source`` and
    ids that appear twice in the same file.
    """
    raw = list(_raw_entries(data, source=source, allow_list=allow_list))
    _check_duplicate_ids(raw, source=source)
    return [validate_entry(kind, fields, source=source, label=label) for kind, fields, label in raw]


def _raw_entries(data: Any, *, source: str, allow_list: bool) -> Iterable[tuple[str, Mapping[str, Any], str]]:
    """Yield ``(kind, fields, label)`` for each entry; ``label`` locates it when it has no usable id."""
    if allow_list and isinstance(data, list):
        for index, item in enumerate(data, start=1):
            if not isinstance(item, Mapping):
                raise InputError(f"{source}: entry #{index}: expected an object, found {type(item).__name__}")
            fields = {k: v for k, v in item.items() if k not in OUTPUT_ONLY_KEYS}
            kind = fields.pop("kind", None)
            if kind not in ENTRY_MODELS:
                raise InputError(
                    f"{source}: entry #{index} ({_id_of(fields)}), field 'kind': expected one of "
                    f"{', '.join(repr(k) for k in ENTRY_MODELS)}, found {kind!r}"
                )
            yield kind, fields, f"entry #{index}"
        return
    if not isinstance(data, Mapping):
        expected = "an object with 'token' / 'gpu' / 'owned' lists, or a list of entries" if allow_list else "tables"
        raise InputError(f"{source}: expected {expected}, found {type(data).__name__}")
    unknown = sorted(set(data) - set(ENTRY_MODELS))
    if unknown:
        raise InputError(
            f"{source}: unknown table {unknown[0]!r}; expected [[token]], [[gpu]] or [[owned]] entries "
            f"(valid tables: {', '.join(sorted(ENTRY_MODELS))})"
        )
    for kind in ENTRY_MODELS:
        items = data.get(kind, [])
        if not isinstance(items, list):
            raise InputError(f"{source}: '{kind}' must be a list of tables ([[{kind}]]), found {type(items).__name__}")
        for index, item in enumerate(items, start=1):
            if not isinstance(item, Mapping):
                raise InputError(f"{source}: [[{kind}]] #{index}: expected a table, found {type(item).__name__}")
            fields = dict(item)
            declared = fields.pop("kind", kind)
            if declared != kind:
                raise InputError(
                    f"{source}: entry {_id_of(fields)}, field 'kind': expected {kind!r} inside [[{kind}]], "
                    f"found {declared!r}"
                )
            yield kind, fields, f"[[{kind}]] #{index}"


def _id_of(fields: Mapping[str, Any]) -> str:
    value = fields.get("id")
    return repr(value) if isinstance(value, str) else "without an id"


def _check_duplicate_ids(raw: Sequence[tuple[str, Mapping[str, Any], str]], *, source: str) -> None:
    seen: dict[str, str] = {}
    for _kind, fields, label in raw:
        entry_id = fields.get("id")
        if not isinstance(entry_id, str):
            continue
        if entry_id in seen:
            raise InputError(
                f"{source}: entry {entry_id!r}, field 'id': duplicate id ({seen[entry_id]} and {label}); "
                "expected each id once per file (later files may override earlier ones)"
            )
        seen[entry_id] = label


def validate_entry(kind: str, fields: Mapping[str, Any], *, source: str, label: str = "entry") -> Price:
    """Validate one entry's fields against the schema of ``kind``; errors name file, entry and field."""
    model = ENTRY_MODELS[kind]
    try:
        return model.model_validate({**fields, "kind": kind})
    except ValidationError as exc:
        raise translate_validation_error(exc, source=source, entry=_entry_name(fields, label), model=model) from exc


def _entry_name(fields: Mapping[str, Any], label: str) -> str:
    entry_id = fields.get("id")
    return f"entry {entry_id!r}" if isinstance(entry_id, str) and entry_id else f"{label} (no id)"


def translate_validation_error(exc: ValidationError, *, source: str, entry: str, model: type[BaseModel]) -> InputError:
    """Turn a pydantic :class:`ValidationError` into one readable :class:`InputError` line.

    Shape: ``<file>: entry '<id>', field '<name>': <problem>; expected ..., found ...``.
    """
    parts = [_describe_error(err, model) for err in exc.errors()[:_MAX_ERRORS_SHOWN]]
    more = len(exc.errors()) - _MAX_ERRORS_SHOWN
    if more > 0:
        parts.append(f"and {more} more problem(s)")
    return InputError(f"{source}: {entry}, " + "; ".join(parts))


def _describe_error(err: Mapping[str, Any], model: type[BaseModel]) -> str:
    loc = err.get("loc", ())
    field = _format_loc(loc)
    kind = err.get("type", "")
    found = err.get("input")
    if kind == "extra_forbidden":
        valid = ", ".join(_field_names(model, loc[:-1]))
        return f"field {field!r}: unknown field; expected one of: {valid}"
    if kind == "missing":
        description = _field_description(model, loc).rstrip(".")
        expected = description[:1].lower() + description[1:] if description else "a value"
        return f"field {field!r}: missing; expected {expected}"
    for prefix, expected in _EXPECTED_BY_TYPE:
        if kind.startswith(prefix):
            return f"field {field!r}: expected {expected}, found {_show(found)}"
    message = str(err.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if "found" in message:
        return f"field {field!r}: {message}"
    return f"field {field!r}: {message}; found {_show(found)}"


def _format_loc(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(entry)"


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _nested_model(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model that holds the last part of ``loc`` (following nested models, skipping list indices)."""
    current: type[BaseModel] = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        nested = _model_in_annotation(info.annotation)
        if nested is None:
            return None
        current = nested
    return current


def _model_in_annotation(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in_annotation(arg)
        if found is not None:
            return found
    return None


def _field_names(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    holder = _nested_model(model, loc)
    return [] if holder is None else [name for name in holder.model_fields if name != "kind"]


def _field_description(model: type[BaseModel], loc: Sequence[Any]) -> str:
    if not loc:
        return ""
    holder = _nested_model(model, loc[:-1])
    info = holder.model_fields.get(str(loc[-1])) if holder is not None else None
    return (info.description or "") if info is not None else ""


# --------------------------------------------------------------------------------------------- writing


def entry_fields(entry: Price) -> dict[str, Any]:
    """The fields of ``entry`` to write (``kind`` aside): every value that is set, defaults included (so a
    written file keeps its meaning if a schema default changes); unset optional and empty values left out."""
    data = entry.model_dump(mode="python", exclude_none=True, exclude={"kind"})
    return {key: value for key, value in data.items() if value not in ((), "")}


def dump_catalog_toml(entries: Iterable[Price], *, header: str = "") -> str:
    """Render entries as our TOML format (``[[token]]`` tables first, then ``[[gpu]]``), with an optional
    comment ``header`` (each of its lines is prefixed with ``# ``). Output parses back to equal entries."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    ordered = sorted(entries, key=lambda e: list(ENTRY_MODELS).index(e.kind))
    for entry in ordered:
        if lines:
            lines.append("")
        lines.append(f"[[{entry.kind}]]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in entry_fields(entry).items())
    return "\n".join(lines) + "\n"


def dump_catalog_json(entries: Iterable[Price]) -> str:
    """Render entries as a JSON list, each entry with ``kind`` and every non-default field."""
    payload = [{"kind": entry.kind} | _json_ready(entry_fields(entry)) for entry in entries]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _json_ready(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in fields.items()}


def _json_value(value: Any) -> Any:
    """Dates as ISO text, at any depth (commitment terms and spot terms carry their own dates)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return _json_ready(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):  # the schema forbids these; never write unreadable TOML
            raise ValueError(f"cannot write non-finite number {value} to a catalog")
        return repr(value)
    if isinstance(value, str):
        # TOML basic strings accept JSON's escapes (\", \\, \n, \uXXXX).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return _toml_value(value.model_dump(mode="python", exclude_defaults=True))
    if isinstance(value, Mapping):
        inner = ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items() if item is not None)
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
