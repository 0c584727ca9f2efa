"""The building blocks the template lays out: charts (SVG + text equivalent) and data tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

Cell = str | Markup


@dataclass
class DataTable:
    """A table with real header cells. The first cell of each row is a row header (``<th scope="row">``).

    ``numeric`` marks right-aligned columns. Cells are escaped unless they are ``Markup`` built by the
    renderer itself (badges, links).
    """

    caption: str
    headers: list[str]
    rows: list[list[Cell]]
    numeric: list[bool] = field(default_factory=list)
    note: str = ""
    id: str = ""

    def is_numeric(self, column: int) -> bool:
        """True when column ``column`` holds numbers (right-aligned)."""
        return column < len(self.numeric) and self.numeric[column]


@dataclass
class Chart:
    """One figure: its SVG panels, a plain-words summary (the figcaption) and its data as a table.

    ``svgs`` is empty when there was nothing to draw; ``missing`` then says why (shown instead).
    """

    id: str
    title: str
    summary: str
    svgs: list[Markup] = field(default_factory=list)
    table: DataTable | None = None
    missing: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def drawn(self) -> bool:
        """True when at least one SVG panel was drawn."""
        return bool(self.svgs)
