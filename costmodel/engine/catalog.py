"""The bundled catalogs of model architectures and GPU specifications, with the user's files layered on top.

>>> arch = model_arch("llama-3.1-8b")
>>> arch.kv_heads
8
>>> gpu_spec("H100").name                       # aliases resolve
'H100-SXM'

Both catalogs are TOML files in ``costmodel/data/engine/`` (``[[model]]`` / ``[[gpu]]`` tables, every entry
with its source and date). A user's file of the same shape (``models_files`` / ``gpus_files``) adds entries
or replaces bundled ones with the same id. A model may also be given as a Hugging Face ``config.json`` path.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from breakeven.errors import InputError, UnknownNameError
from breakeven.io import read_text
from costmodel.engine.arch import ModelArch, parse_hf_config
from costmodel.engine.gpu import GpuSpec

_DATA = ("data", "engine")


def _read_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML ({exc})") from exc


def _entries(doc: dict[str, Any], table: str, where: str) -> list[dict[str, Any]]:
    rows = doc.get(table, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"{where}: expected [[{table}]] tables; found {type(rows).__name__}")
    unknown = sorted(set(doc) - {table})
    if unknown:
        raise InputError(f"{where}: unknown top-level key(s) {', '.join(unknown)}; expected only [[{table}]] tables")
    return rows


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    msg = str(first.get("msg", "")).removeprefix("Value error, ")
    found = first.get("input")
    shown = "" if isinstance(found, dict) else f", found {found!r}"
    return f"{loc}: {msg}{shown}" if loc else msg


def _parse(kind: str, rows: list[dict[str, Any]], where: str) -> list[Any]:
    model = ModelArch if kind == "model" else GpuSpec
    key = "id" if kind == "model" else "name"
    out = []
    for index, row in enumerate(rows):
        label = f"{where}: {kind} {row.get(key, f'#{index + 1}')!r}"
        try:
            out.append(model.model_validate(row))
        except ValidationError as exc:
            raise InputError(f"{label}, {_validation_message(exc)}") from exc
    return out


@cache
def _bundled(kind: str) -> tuple[Any, ...]:
    name = "models.toml" if kind == "model" else "gpus.toml"
    text = (resources.files("costmodel").joinpath(*_DATA) / name).read_text(encoding="utf-8")
    where = f"bundled:{name}"
    return tuple(_parse(kind, _entries(_read_toml(text, where), kind, where), where))


def _user(kind: str, files: Sequence[str | Path]) -> list[Any]:
    out: list[Any] = []
    for file in files:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the {kind} catalog file ({exc.strerror or exc})") from exc
        out += _parse(kind, _entries(_read_toml(text, str(path)), kind, str(path)), str(path))
    return out


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def _index(entries: Sequence[Any], key: str) -> dict[str, Any]:
    index: dict[str, Any] = {}
    for entry in entries:  # later files win
        for name in (getattr(entry, key), *entry.aliases):
            index[_norm(name)] = entry
    return index


def model_names(models_files: Sequence[str | Path] = ()) -> list[str]:
    """Ids of every model in the catalog (bundled and the user's files)."""
    return sorted({m.id for m in [*_bundled("model"), *_user("model", models_files)]})


def gpu_names(gpus_files: Sequence[str | Path] = ()) -> list[str]:
    """Names of every GPU in the catalog (bundled and the user's files)."""
    return sorted({g.name for g in [*_bundled("gpu"), *_user("gpu", gpus_files)]})


def model_arch(name_or_path: str | Path, models_files: Sequence[str | Path] = ()) -> ModelArch:
    """A model's architecture: a catalog id or alias (e.g. an HF repository), or a ``config.json`` path."""
    text = str(name_or_path)
    path = Path(text)
    if text.endswith(".json") or path.is_file():
        return load_hf_config(path)
    entries = [*_bundled("model"), *_user("model", models_files)]
    found = _index(entries, "id").get(_norm(text))
    if found is None:
        raise UnknownNameError("model", text, [m.id for m in entries], context="model catalog")
    return found


def gpu_spec(name: str, gpus_files: Sequence[str | Path] = ()) -> GpuSpec:
    """A GPU's specification by catalog name or alias (e.g. 'H100' → 'H100-SXM')."""
    entries = [*_bundled("gpu"), *_user("gpu", gpus_files)]
    found = _index(entries, "name").get(_norm(name))
    if found is None:
        raise UnknownNameError("GPU", name, [g.name for g in entries], context="GPU catalog")
    return found


def load_hf_config(path: str | Path) -> ModelArch:
    """Read a Hugging Face ``config.json`` into a :class:`ModelArch` (id: the folder's name)."""
    p = Path(path)
    try:
        config = json.loads(read_text(p))
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}:{exc.lineno}: not valid JSON ({exc.msg}); expected a Hugging Face config.json") from exc
    name = p.parent.name if p.name == "config.json" and p.parent.name else p.stem
    return parse_hf_config(config, id=name, source=str(p))
