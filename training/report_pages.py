"""The report layer of the experiment plans: a page (a title, opening paragraphs, sections of
paragraphs, tables as DataFrames and figures) rendered to markdown by
``evaluation.report.render_markdown``, the renderer of every report."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptofolio.evaluation.rendering import Block, Section, render_markdown


@dataclass
class Page:
    """A report: its title, the paragraphs before its first section, and its sections."""

    title: str
    """The page's one ``#`` heading."""
    opening: list[Block] = field(default_factory=list)
    """Paragraphs (or tables) under the title, before the first section."""
    sections: list[Section] = field(default_factory=list)
    """The ``##`` sections, in order."""


def render_page(page: Page) -> str:
    """The page as markdown: blocks separated by blank lines, tables as markdown tables."""
    untitled = "\n\n## \n\n"  # the opening, rendered as a section without a title, loses its heading
    return render_markdown(page.title, [Section("", page.opening), *page.sections]).replace(
        untitled, "\n\n", 1
    )
