"""Import SkyPilot catalog ``vms.csv`` files (``skypilot-org/skypilot-catalog``) as GPU instance prices.

Columns are read **by name**, so both layouts work: the common one
(``InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region,GpuInfo,SpotPrice``) and
Azure's (``...,GpuInfo,Price,SpotPrice,Region,Generation``). LF and CRLF line endings both work.

- ``Price`` / ``SpotPrice`` are USD per **instance**-hour (we keep them per instance; ``gpu_hourly_usd``
  divides by the GPU count).
- ``GpuInfo`` is either a Python-repr dict (``{'Gpus': [{'Name': 'H100', ..., 'MemoryInfo':
  {'SizeInMiB': 81559}}], ...}``, keys in any case — one DO version writes them all lowercase) read with
  :func:`ast.literal_eval`, or (Azure) the bare GPU name.
- Rows without an accelerator (CPU instances) and rows with an empty ``Price`` are skipped with a reason.
- One entry per instance type and price: when every region has the same price the id is
  ``<provider>/<InstanceType>``; when prices differ by region, each group of regions with one price gets
  ``<provider>/<InstanceType>@<first region of the group, alphabetically>``.
- Known data errors are corrected **and said so in the entry's notes** (:data:`KNOWN_CORRECTIONS`):
  Azure ``Standard_ND96isr_H100_v5`` has ``AcceleratorCount`` 12 in the catalog; the VM has 8 H100s.
- A ``SpotPrice`` equal to ``Price`` (Azure H100 rows) is not a spot market; it is left out, with a note.
- Billing granularity is not in the catalog: DigitalOcean entries get the bundled catalog's rule (per second,
  5-minute minimum, [unverified]; :data:`BILLING_RULES`), others the schema's defaults (per second, 60 s
  minimum); each entry's notes say which.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath
from typing import Any, Final

from pydantic import ValidationError

from breakeven.errors import InputError
from breakeven.io import PathOrBuffer, read_bytes, source_name
from pricing.importers.common import ImportResult, Skipped, resolve_as_of, source_text
from pricing.models import _ID_RE, GpuPrice, SpotTerms

#: SkyPilot cloud folder / file-name token → our provider name.
CLOUD_NAMES: Final[dict[str, str]] = {
    "do": "digitalocean",
    "digitalocean": "digitalocean",
    "nebius": "nebius",
    "azure": "azure",
    "aws": "aws",
    "gcp": "gcp",
    "lambda": "lambda",
    "runpod": "runpod",
    "oci": "oci",
    "ibm": "ibm",
    "cudo": "cudo",
    "fluidstack": "fluidstack",
    "paperspace": "paperspace",
    "vast": "vast",
    "hyperbolic": "hyperbolic",
    "scp": "scp",
}

#: (provider, InstanceType, wrong AcceleratorCount) → (right count, why). Applied only to exactly that value.
KNOWN_CORRECTIONS: Final[dict[tuple[str, str, int], tuple[int, str]]] = {
    ("azure", "Standard_ND96isr_H100_v5", 12): (
        8,
        (
            "the SkyPilot catalog says AcceleratorCount=12, which is wrong: the ND96isr H100 v5 VM has 8x H100 "
            "(third-party listings give $12.29/GPU-h = eastus $98.32/h / 8); corrected to 8 by the importer"
        ),
    ),
}

#: Billing rules the catalog does not carry, per provider: (increment [s], minimum [s], note). Others get the
#: schema defaults (per second, 60 s minimum), said so in each entry's notes.
BILLING_RULES: Final[dict[str, tuple[int, int, str]]] = {
    "digitalocean": (
        1,
        300,
        (
            "billing per second with a 5-minute minimum, as in the bundled DigitalOcean entries "
            "(from the DO booth guide; not seen in DO's own text) [unverified]"
        ),
    ),
}

#: Spot terms the catalog does not carry, per provider: (notice [s], source, read on, note). Entries with a
#: spot price get them (the preemption rate is published by none of these, so it stays unset).
SPOT_NOTICE: Final[dict[str, tuple[float, str, date, str]]] = {
    "nebius": (
        60.0,
        "https://docs.nebius.com/compute/virtual-machines/preemptible",
        date(2026, 12, 4),
        "[doc] SIGTERM 60 seconds before a preemptible VM is stopped; no preemption rate published",
    ),
    "aws": (
        120.0,
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html",
        date(2026, 12, 4),
        (
            "[doc] a Spot Instance interruption notice is issued two minutes before the instance is stopped; the "
            "interruption frequency is published per instance type by the Spot Instance Advisor, not here"
        ),
    ),
    "gcp": (
        30.0,
        "https://www.thundercompute.com/blog/cloud-gpu-spot-instance-availability",
        date(2026, 12, 4),
        "[3p] Google Cloud Spot VMs get a best-effort preemption notice of up to 30 seconds",
    ),
}

REQUIRED_COLUMNS: Final = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "Region")

# Skip reasons.
NOT_GPU = "not a GPU instance (no accelerator)"
NO_PRICE = "no on-demand price (empty Price)"
BAD_NUMBER = "malformed number"
BAD_ID = "instance name cannot form a catalog id"
BAD_VALUE = "a value our catalog refuses"

_MIB_PER_GIB = 1024
_GB_IN_NAME = re.compile(r"-(\d+)GB$", re.IGNORECASE)


@dataclass(frozen=True)
class _Row:
    line: int
    instance: str
    gpu: str
    count: int
    memory_gib: float | None
    price: float
    spot: float | None
    region: str
    notes: tuple[str, ...]


def provider_from_name(name: str) -> str | None:
    """Guess the cloud from a path like ``catalogs/v6/do/vms.csv`` or ``skypilot_nebius_vms.csv``."""
    path = PurePath(name)
    candidates = [path.parent.name.lower(), *re.split(r"[_\-.\s]+", path.stem.lower())]
    for token in candidates:
        if token in CLOUD_NAMES:
            return CLOUD_NAMES[token]
    return None


def parse_skypilot(
    text: str, *, provider: str, as_of: date, source: str = "SkyPilot catalog vms.csv", name: str = "<input>"
) -> ImportResult:
    """Convert the text of a SkyPilot ``vms.csv`` into GPU instance prices; skipped rows come with reasons.

    ``provider`` is our provider name (e.g. ``nebius``); ``name`` is used in error messages.
    """
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{name}:1: not a SkyPilot vms.csv; expected columns {', '.join(REQUIRED_COLUMNS)}, "
            f"missing {', '.join(missing)} (found {', '.join(header) or 'no header'})"
        )
    rows: list[_Row] = []
    skipped: list[Skipped] = []
    for record in reader:
        line = reader.line_num
        instance = (record.get("InstanceType") or "").strip()
        try:
            row = _row(record, line=line, instance=instance, provider=provider)
        except _RowSkip as skip:
            skipped.append(Skipped(f"line {line}: {instance or '?'}", skip.reason, skip.detail))
            continue
        rows.append(row)
    entries: list[GpuPrice] = []
    groups = _group(rows)
    groups_per_instance = Counter(group[0].instance for group in groups)
    for group in groups:
        multi = groups_per_instance[group[0].instance] > 1
        try:
            entry = _entry(group, provider=provider, as_of=as_of, source=source, multi=multi)
        except ValidationError as exc:  # e.g. a price above what the catalog accepts
            first, error = group[0], exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            skipped.append(Skipped(f"line {first.line}: {first.instance}", BAD_VALUE, f"field {where}: {error['msg']}"))
            continue
        if entry is None:
            first = group[0]
            skipped.append(Skipped(f"line {first.line}: {first.instance}", BAD_ID, first.instance))
            continue
        entries.append(entry)
    return ImportResult(tuple(entries), tuple(skipped), source=source, as_of=as_of)


def read_skypilot(
    src: PathOrBuffer, *, provider: str | None = None, as_of: date | None = None, source: str | None = None
) -> ImportResult:
    """Read a SkyPilot ``vms.csv`` from a path or file-like object (see :func:`parse_skypilot`).

    ``provider`` defaults to the cloud named in the path (``catalogs/v8/nebius/vms.csv``,
    ``skypilot_do_vms.csv``), then to ``azure`` when the file has Azure's ``Generation`` column.
    """
    raw = read_bytes(src)
    name = source_name(src)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start}); expected a SkyPilot vms.csv") from exc
    chosen_provider = provider or provider_from_name(name) or _provider_from_header(text)
    if chosen_provider is None:
        raise InputError(
            f"{name}: cannot tell which cloud this SkyPilot catalog is for; expected a path naming it "
            f"(e.g. catalogs/v8/nebius/vms.csv) or --provider, one of: {', '.join(sorted(set(CLOUD_NAMES.values())))}"
        )
    chosen, how, known = resolve_as_of(src, raw, as_of)
    result = parse_skypilot(
        text,
        provider=chosen_provider,
        as_of=chosen,
        source=source or source_text(name, "SkyPilot catalog", known),
        name=name,
    )
    return ImportResult(result.entries, result.skipped, source=name, as_of=chosen, notes=(how,))


def _provider_from_header(text: str) -> str | None:
    header = text.splitlines()[0] if text else ""
    return "azure" if "Generation" in header.split(",") else None


class _RowSkip(Exception):  # noqa: N818 - internal control flow
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _number(record: Mapping[str, Any], column: str) -> float | None:
    text = (record.get(column) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise _RowSkip(BAD_NUMBER, f"{column} = {text!r}") from exc
    if not math.isfinite(value) or value < 0:
        raise _RowSkip(BAD_NUMBER, f"{column} = {text!r}; expected a non-negative number")
    return value


def _row(record: Mapping[str, Any], *, line: int, instance: str, provider: str) -> _Row:
    accelerator = (record.get("AcceleratorName") or "").strip()
    count_value = _number(record, "AcceleratorCount")
    if not accelerator or not count_value:
        raise _RowSkip(NOT_GPU, f"AcceleratorName = {accelerator!r}, AcceleratorCount = {count_value}")
    if not float(count_value).is_integer():
        raise _RowSkip(BAD_NUMBER, f"AcceleratorCount = {count_value}; expected a whole number")
    count = int(count_value)
    price = _number(record, "Price")
    if price is None:
        raise _RowSkip(NO_PRICE, "Price = ''")
    notes: list[str] = []
    correction = KNOWN_CORRECTIONS.get((provider, instance, count))
    if correction is not None:
        count, why = correction
        notes.append(why)
    spot = _number(record, "SpotPrice")
    if spot is not None and spot == price:
        notes.append(f"the catalog's SpotPrice equals Price ({price:g}), which is not a spot discount; left out")
        spot = None
    if "_promo" in instance.lower():
        notes.append("promotional legacy SKU")
    gpu_name, memory_gib, info_note = _gpu_info((record.get("GpuInfo") or "").strip(), accelerator)
    if info_note:
        notes.append(info_note)
    return _Row(
        line=line,
        instance=instance,
        gpu=gpu_name,
        count=count,
        memory_gib=memory_gib,
        price=price,
        spot=spot,
        region=(record.get("Region") or "").strip(),
        notes=tuple(notes),
    )


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def _gpu_info(text: str, accelerator: str) -> tuple[str, float | None, str]:
    """GPU name (from ``AcceleratorName``), memory per GPU [GiB] and a note if ``GpuInfo`` was unreadable."""
    name_memory = _GB_IN_NAME.search(accelerator)
    fallback = float(name_memory.group(1)) if name_memory else None
    if not text.startswith("{"):
        return accelerator, fallback, ""  # Azure: GpuInfo is the bare GPU name
    try:
        info = _lower_keys(ast.literal_eval(text))
        size_mib = info["gpus"][0]["memoryinfo"]["sizeinmib"]
    except (ValueError, SyntaxError, KeyError, IndexError, TypeError):
        return accelerator, fallback, "GpuInfo could not be read; GPU memory unknown"
    if not isinstance(size_mib, int | float) or size_mib <= 0:
        return accelerator, fallback, ""
    return accelerator, round(float(size_mib) / _MIB_PER_GIB, 2), ""


def _group(rows: Sequence[_Row]) -> list[list[_Row]]:
    """Rows grouped by instance type and (price, spot, GPUs); groups in order of first appearance."""
    groups: dict[tuple[Any, ...], list[_Row]] = {}
    for row in rows:
        groups.setdefault((row.instance, row.price, row.spot, row.count, row.gpu), []).append(row)
    return list(groups.values())


def _spot_terms(provider: str) -> SpotTerms | None:
    known = SPOT_NOTICE.get(provider)
    if known is None:
        return None
    notice, source, read, note = known
    return SpotTerms(notice_s=notice, as_of=read, source=source, notes=note)


def _entry(group: Sequence[_Row], *, provider: str, as_of: date, source: str, multi: bool) -> GpuPrice | None:
    first = group[0]
    regions = tuple(sorted({r.region for r in group if r.region}))
    entry_id = f"{provider}/{first.instance}" + (f"@{regions[0]}" if multi and regions else "")
    if not _ID_RE.match(entry_id):
        return None
    notes = [f"[table] SkyPilot catalog row(s) at line(s) {', '.join(str(r.line) for r in group)}"]
    notes.extend(dict.fromkeys(n for r in group for n in r.notes))
    increment_s, minimum_s, billing_note = BILLING_RULES.get(
        provider,
        (1, 60, "billing granularity not in the SkyPilot catalog; schema defaults (per second, 60 s minimum) assumed"),
    )
    notes.append(billing_note)
    return GpuPrice(
        id=entry_id,
        provider=provider,
        offering=first.instance,
        gpu=first.gpu,
        gpu_count=first.count,
        gpu_memory_gib=first.memory_gib,
        hourly_usd=first.price,
        spot_hourly_usd=first.spot,
        spot_preemption=_spot_terms(provider) if first.spot is not None else None,
        billing_increment_s=increment_s,
        minimum_billed_s=minimum_s,
        regions=regions,
        as_of=as_of,
        source=source,
        notes="; ".join(notes),
    )
