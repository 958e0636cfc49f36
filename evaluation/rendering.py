"""Rendering a report: sections of paragraphs, tables and figures as Markdown and as one HTML file."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Image:
    """A figure of the report folder, by file name."""

    name: str


Block = str | pd.DataFrame | Image
"""A paragraph, a table (already formatted as text) or a figure."""


@dataclass
class Section:
    """One part of the report: a title and its blocks, in order."""

    title: str
    blocks: list[Block] = field(default_factory=list)


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table, its index as the first column."""
    header = ["", *map(str, table.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join([str(index), *map(str, row)]) + " |"
        for index, row in zip(table.index, table.to_numpy(), strict=True)
    ]
    return "\n".join(lines)


def render_markdown(title: str, sections: Sequence[Section]) -> str:
    """The report as Markdown: figures are links to their PNG files beside it."""
    parts = [f"# {title}"]
    for section in sections:
        parts.append(f"## {section.title}")
        for block in section.blocks:
            if isinstance(block, pd.DataFrame):
                parts.append(markdown_table(block))
            elif isinstance(block, Image):
                parts.append(f"![{block.name}]({block.name})")
            else:
                parts.append(block)
    return "\n\n".join(parts) + "\n"


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 12px; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; margin: 0.5em 0; }
code { background: #f3f3f3; padding: 1px 4px; }
"""


def render_html(title: str, sections: Sequence[Section], folder: Path) -> str:
    """The report as one HTML file; figures are embedded as base64 PNG, so it opens offline."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, pd.DataFrame):
                body.append(block.to_html(border=0, escape=True))
            elif isinstance(block, Image):
                data = base64.b64encode((folder / block.name).read_bytes()).decode()
                body.append(f'<img alt="{html.escape(block.name)}" src="data:image/png;base64,{data}">')
            else:
                body.append(f"<p>{_code_spans(html.escape(block))}</p>")
    head = f"<meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style>"
    return f"<!doctype html>\n<html><head>{head}</head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"


def _code_spans(text: str) -> str:
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
