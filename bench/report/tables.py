"""The report's tables, each declared once: caption, columns, cells, and its PDF layout.

A table is built in one place (bench.analyse.headline for page 1, bench.report.pages for the
autoscaler and planning pages) and every output takes that same object: plots.draw_table() puts
it on a PDF page, html.py writes it as HTML, and markdown()/text() below print it for summary.md
and `bench compare`. No output repeats a column list.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    """A captioned table of strings, with how the PDF draws it."""

    caption: str
    header: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)  # column indexes aligned right (HTML)
    widths: list[float] = field(default_factory=list)  # PDF: column widths, page fractions
    fontsize: float = 8.0  # PDF


def markdown(table: Table) -> list[str]:
    """A markdown table (no caption); '|' in cells escaped."""
    escaped = [[cell.replace("|", "\\|") for cell in row] for row in table.rows]
    return [
        "| " + " | ".join(table.header) + " |",
        "|" + "---|" * len(table.header),
        *("| " + " | ".join(row) + " |" for row in escaped),
    ]


def text(table: Table) -> list[str]:
    """A plain fixed-width table for the terminal (no caption)."""
    lines = [table.header, *table.rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(table.header))]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line(table.header), "  ".join("-" * width for width in widths), *map(line, table.rows)]
