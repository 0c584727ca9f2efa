"""Reading a rendered report back in tests: the verdict's numbers and the text around them.

The parser is the standard library's, independent of the renderer, so the checks do not trust the code
they test: each ``<data value data-pointer data-kind>`` and ``<span data-pointer>`` inside
``<section id="verdict">`` is collected with its visible text, and so is all the other visible text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

_VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr", "col", "area", "base", "embed", "param", "track"}


@dataclass
class Ref:
    """One value reference in the verdict."""

    tag: str
    pointer: str
    kind: str | None
    value_attr: str | None
    text: str = ""


@dataclass
class VerdictParse:
    """What :func:`parse_verdict` found."""

    refs: list[Ref] = field(default_factory=list)
    loose_text: list[str] = field(default_factory=list)  # visible text outside any reference


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = VerdictParse()
        self.depth = 0  # element depth inside the verdict section (0 = outside)
        self.ref: Ref | None = None
        self.ref_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in _VOID:
            return
        if self.depth == 0:
            if tag == "section" and a.get("id") == "verdict":
                self.depth = 1
            return
        self.depth += 1
        if self.ref is None and "data-pointer" in a:
            self.ref = Ref(tag, a["data-pointer"] or "", a.get("data-kind"), a.get("value"))
            self.ref_depth = self.depth

    def handle_endtag(self, tag: str) -> None:
        if self.depth == 0 or tag in _VOID:
            return
        if self.ref is not None and self.depth == self.ref_depth:
            self.out.refs.append(self.ref)
            self.ref = None
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            return
        if self.ref is not None:
            self.ref.text += data
        elif data.strip():
            self.out.loose_text.append(data)


def parse_verdict(html: str) -> VerdictParse:
    """The references and loose text of the verdict section."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.out


def resolve(doc: Any, pointer: str) -> Any:
    """RFC 6901 lookup (written here again on purpose, not imported from the renderer)."""
    node = doc
    if pointer == "":
        return node
    for raw in pointer.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


_NUMBER = re.compile(r"^(?P<cmp>[<>])?(?P<sign>[−-])?\$?(?P<digits>[0-9][0-9,]*(?:\.(?P<dec>[0-9]+))?)(?P<pct>%)?$")


def check_number(text: str, value: float, kind: str) -> None:
    """Assert that ``text`` displays ``value`` within the rounding its digits show."""
    m = _NUMBER.match(text.strip())
    assert m, f"not a number display: {text!r}"
    shown = float(m["digits"].replace(",", ""))
    if m["sign"]:
        shown = -shown
    expected = value * 100.0 if kind == "pct" else (abs(value) if kind == "usd_abs" else value)
    if kind == "pct":
        assert m["pct"], f"percentage without %: {text!r}"
    if m["cmp"] == ">":
        assert shown < expected < 100.0 + 1e-9 if kind == "pct" else expected > shown, (text, value)
        return
    if m["cmp"] == "<":
        assert 0 < expected < shown, (text, value)
        return
    half_unit = 0.5 * 10.0 ** -(len(m["dec"]) if m["dec"] else 0)
    tol = half_unit + 1e-9 * max(1.0, abs(expected))
    assert math.isclose(shown, expected, abs_tol=tol), f"{text!r} shows {shown}, results.json has {expected} ({kind})"
