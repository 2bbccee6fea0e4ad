"""report.html: one self-contained file (charts inline as data: URIs, no scripts, no network).

Gets the same sections the PDF has (title, sentences, tables, the chart as PNG bytes), so the
two cannot drift apart; this module only lays them out.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from bench.report.tables import Table

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 80rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.4; }
h1 { margin-bottom: .2rem; } .sub { color: #555; margin-top: 0; }
.verdict { font-size: 1.25rem; font-weight: 600; background: #eef5ff; border-left: 4px solid
           #1f77b4; padding: .6rem 1rem; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
img { max-width: 100%; border: 1px solid #ddd; } section { margin-top: 2.5rem; }
.note { color: #444; font-size: .92rem; }
"""


@dataclass
class Section:
    """One page of the PDF: its title, its sentences, its tables and its chart (PNG)."""

    title: str
    lead: str = ""
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    png: bytes | None = None


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in table.header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(cell)}</td>' if index in table.numeric
            else f"<td>{escape(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in table.rows
    )  # fmt: skip
    return (
        f"<table><caption>{escape(table.caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def render(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole document as one string."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{escape(subtitle)}</p>',
    ]
    for index, section in enumerate(sections):
        tag = "h2"
        parts.append(f'<section id="page-{index + 1}"><{tag}>{escape(section.title)}</{tag}>')
        if section.lead:
            parts.append(f'<p class="verdict">{escape(section.lead)}</p>')
        if section.png is not None:
            data = base64.b64encode(section.png).decode("ascii")
            parts.append(f'<img alt="{escape(section.title)}" src="data:image/png;base64,{data}">')
        parts.extend(_table(table) for table in section.tables)
        parts.extend(f'<p class="note">{escape(note)}</p>' for note in section.notes)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
