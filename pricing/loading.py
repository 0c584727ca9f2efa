"""Read any price file a user may pass with ``--prices``: our TOML/JSON catalog, a LiteLLM cost map or a
SkyPilot ``vms.csv`` — the format is detected from the content (and the extension when it is clear)."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import PurePath

from breakeven.errors import InputError
from breakeven.io import PathOrBuffer, check_utf8, read_bytes, source_name
from pricing.fileformat import ENTRY_MODELS, parse_catalog_data, parse_catalog_toml
from pricing.importers.common import Skipped
from pricing.importers.litellm import read_litellm
from pricing.importers.skypilot import REQUIRED_COLUMNS, read_skypilot
from pricing.models import Price


class PriceFormat(StrEnum):
    """The price file formats ``--prices`` accepts."""

    TOML = "toml"
    """Our catalog format, TOML (``[[token]]`` / ``[[gpu]]`` tables)."""
    JSON = "json"
    """Our catalog format, JSON."""
    LITELLM = "litellm"
    """LiteLLM's ``model_prices_and_context_window.json``."""
    SKYPILOT = "skypilot"
    """A SkyPilot catalog ``vms.csv``."""


@dataclass(frozen=True)
class PriceFile:
    """The entries read from one file, what was skipped, and the detected format."""

    name: str
    format: PriceFormat
    entries: tuple[Price, ...]
    skipped: tuple[Skipped, ...] = ()


def detect_format(data: bytes, name: str = "<input>") -> PriceFormat:
    """Tell our TOML / JSON catalog, a LiteLLM cost map and a SkyPilot CSV apart by content.

    Raises :class:`InputError` when the content is none of them: empty, UTF-16, JSON cut short, or other.
    """
    check_utf8(data, name)
    text = data.decode("utf-8-sig", errors="replace").lstrip()
    if not text:
        raise InputError(
            f"{name}: empty file ({len(data)} bytes); expected a price catalog (TOML or JSON), a LiteLLM cost map "
            "or a SkyPilot vms.csv"
        )
    first_line = text.splitlines()[0] if text else ""
    if first_line.startswith("InstanceType,") or all(c in first_line.split(",") for c in REQUIRED_COLUMNS):
        return PriceFormat.SKYPILOT
    if text.startswith(("{", "[")) and not text.startswith(("[[", "[token", "[gpu")):
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError as exc:
            cut = "" if text.rstrip().endswith(("}", "]")) else " (it ends without a closing bracket: truncated?)"
            raise InputError(
                f"{name}:{exc.lineno}: not valid JSON ({exc.msg}: line {exc.lineno} column {exc.colno}){cut}; "
                "expected a JSON price catalog or a LiteLLM cost map"
            ) from exc
        if isinstance(decoded, list):
            return PriceFormat.JSON
        if isinstance(decoded, dict):
            if decoded and set(decoded) <= set(ENTRY_MODELS):
                return PriceFormat.JSON
            if "sample_spec" in decoded or any(
                isinstance(v, dict) and "litellm_provider" in v for v in decoded.values()
            ):
                return PriceFormat.LITELLM
            return PriceFormat.JSON  # let our parser say what is wrong with it
    suffix = PurePath(name).suffix.lower()
    if suffix == ".toml" or not suffix or text.startswith(("#", "[")):
        return PriceFormat.TOML
    raise InputError(
        f"{name}: cannot tell the price file format from its content (first line {first_line[:60]!r}); expected "
        "our catalog (TOML or JSON), a LiteLLM cost map or a SkyPilot vms.csv with a header line"
    )


def read_price_file(src: PathOrBuffer, *, as_of: date | None = None) -> PriceFile:
    """Read one price file of any supported format (detected) from a path or file-like object.

    ``as_of`` applies to imported formats (LiteLLM, SkyPilot) only; our catalog carries its own dates.
    """
    data = read_bytes(src)
    name = source_name(src)
    fmt = detect_format(data, name)
    if fmt is PriceFormat.LITELLM:
        imported = read_litellm(_again(src, data), as_of=as_of)
        return PriceFile(name, fmt, imported.entries, imported.skipped)
    if fmt is PriceFormat.SKYPILOT:
        imported = read_skypilot(_again(src, data), as_of=as_of)
        return PriceFile(name, fmt, imported.entries, imported.skipped)
    text = _decode(data, name)
    if fmt is PriceFormat.TOML:
        return PriceFile(name, fmt, tuple(parse_catalog_toml(text, source=name)))
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}:{exc.lineno}: not valid JSON ({exc.msg}); expected a price catalog") from exc
    return PriceFile(name, fmt, tuple(parse_catalog_data(decoded, source=name, allow_list=True)))


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start}); expected a price catalog") from exc


def _again(src: PathOrBuffer, data: bytes) -> PathOrBuffer:
    """The source for an importer: the path itself (so it can use the file's date), or the bytes already read."""
    if isinstance(src, str | os.PathLike):
        return src
    buffer = io.BytesIO(data)
    buffer.name = source_name(src)
    return buffer


__all__ = ["PriceFile", "PriceFormat", "detect_format", "read_price_file"]
