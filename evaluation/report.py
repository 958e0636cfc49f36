"""Reports of an evaluation: ``report.md``, a self-contained ``report.html`` (images inline, opens
offline), the figures as PNG and the numbers as CSV, all in one folder.

Sections: summary, the claims tested in words, metrics per policy, agents against their
baselines, equity and drawdown curves, weights over time, rolling Sharpe, turnover and fees,
diversification checks with the period's correlation heatmap, and how the report was made.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cryptofolio.envs import Costs
from cryptofolio.evaluation.diagnostics import correlation
from cryptofolio.evaluation.results import Evaluation

PERCENT_WORDS = ("return", "cagr", "volatility", "drawdown", "fees", "invested", "share", "reduction")
COUNT_WORDS = ("seeds", "steps", "step", "positions")  # columns of whole numbers
CONTEXT = ("btc_only", "equal_weight")  # baselines drawn beside the agents for scale


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


def write_report(evaluation: Evaluation, out: Path, title: str, command: str = "") -> Path:
    """Write the report folder; return the path of ``report.html``."""
    out.mkdir(parents=True, exist_ok=True)
    evaluation.metrics.to_csv(out / "metrics.csv", index_label="policy")
    evaluation.selection.to_csv(out / "selection.csv", index_label="run")
    evaluation.group_summary.to_csv(out / "groups.csv", index_label="group")
    evaluation.comparisons.to_csv(out / "comparisons.csv", index_label="group")
    evaluation.diversification.to_csv(out / "diversification.csv", index_label="policy")
    for name, result in evaluation.results.items():
        result.save(out / "results" / f"{name}.csv")
    sections = _sections(evaluation, out, command)
    (out / "report.md").write_text(render_markdown(title, sections))
    (out / "report.html").write_text(render_html(title, sections, out))
    return out / "report.html"


def featured(evaluation: Evaluation) -> list[str]:
    """Policies drawn in the curves: the agents, their baselines, the reference, BTC and equal weight."""
    names = [run for group in evaluation.groups for run in group.runs]
    names += list(dict.fromkeys(group.profile for group in evaluation.groups))
    names += [evaluation.reference] if evaluation.reference else []
    names += [n for n in CONTEXT if n in evaluation.results]
    return list(dict.fromkeys(n for n in names if n in evaluation.results))


def describe_costs(costs: Costs) -> str:
    """``a fee of 0.10% per unit traded`` (and the slippage and cash yield, when there are any)."""
    text = f"a fee of {costs.fee:.2%}"
    if costs.slippage:
        text += f" plus slippage of {costs.slippage:.2%}"
    text += " per unit traded"
    return text + (f", cash earning {costs.cash_yield:.2%} a year" if costs.cash_yield else "")


def _sections(evaluation: Evaluation, out: Path, command: str) -> list[Section]:
    first, last = (evaluation.market.timestamps[i] for i in (evaluation.bars.start, evaluation.bars.stop - 1))
    n_runs = sum(len(g.runs) for g in evaluation.groups)
    summary = Section(
        "Summary",
        [
            f"{n_runs} trained agent run(s) in {len(evaluation.groups)} group(s) and "
            f"{len(evaluation.baselines)} rule-based baselines, on the {evaluation.split} split of "
            f"{evaluation.market.source} ({first:%Y-%m-%d} to {last:%Y-%m-%d}, {len(evaluation.bars)} bars), "
            f"all through the same ledger at {describe_costs(evaluation.costs)}, from the same start.",
            "Intervals are 95%: over seeds for a group's metrics, and over resampled blocks of bars (the "
            "same bars for an agent and its baseline) for differences. PSR is the probability that the true "
            "Sharpe ratio is above zero; DSR deflates it for the number of policies compared.",
        ],
    )
    claims = Section("Claims tested", list(evaluation.claims) or ["No agent runs were evaluated."])
    table = Section(
        "Metrics per policy",
        ["One row per policy; agents are their best model on validation.", formatted(evaluation.metrics)],
    )
    versus = Section("Agents against their baselines", ["No agent runs were evaluated."])
    if evaluation.groups:
        versus.blocks = [
            "Model selection: the step of each run's model chosen on validation, and its validation score "
            "beside the profile baseline's.",
            formatted(evaluation.selection.rename(index=label)),
            "Each group's mean over seeds ± the standard deviation over seeds, with the 95% bootstrap "
            "interval over seeds in brackets.",
            formatted(with_intervals(evaluation.group_summary, evaluation.group_summary.columns)),
            "Each group minus its profile baseline over the same bars (estimate and 95% block-bootstrap "
            "interval).",
            formatted(with_intervals(evaluation.comparisons, evaluation.comparisons.columns)),
        ]
    curves = Section(
        "Equity and drawdowns",
        [
            "Value of 1 invested at the start (log scale), and the fall from its running peak.",
            Image(_equity(evaluation, out)),
            Image(_drawdowns(evaluation, out)),
        ],
    )
    weights = Section(
        "Weights over time",
        [
            "Weights after trading, stacked; each group's first run beside its baseline.",
            Image(_weights(evaluation, out)),
        ],
    )
    rolling = Section(
        "Rolling Sharpe",
        ["Annualized Sharpe ratio over a trailing 60-day window.", Image(_rolling_sharpe(evaluation, out))],
    )
    costs = Section(
        "Turnover and fees",
        [
            "Value traded per year, and fees paid as a share of the initial value.",
            Image(_costs(evaluation, out)),
        ],
    )
    diversity = Section(
        "Diversification",
        [
            "The risk-profile guidance's checks on each policy's average weights: average pairwise "
            "correlation of the held assets below 0.75, no category above 40%, 8 to 15 positions.",
            formatted(evaluation.diversification),
            "Correlation of the assets' daily log returns over the evaluated period.",
            Image(_correlation(evaluation, out)),
        ],
    )
    made = Section(
        "How this was made",
        [
            f"Command: `{command}`" if command else "Made by evaluation.report.write_report.",
            "Numbers: metrics.csv, selection.csv, groups.csv, comparisons.csv, diversification.csv; per-bar "
            "results in results/.",
        ],
    )
    return [summary, claims, table, versus, curves, weights, rolling, costs, diversity, made]


# --- figures ---------------------------------------------------------------------------------------


def label(name: str) -> str:
    """A run's name without its start time, for legends: ``ppo-moderate-synthetic-s0``."""
    return re.sub(r"-\d{8}-\d{6}(-\d+)?$", "", name)


def _dates(ax: plt.Axes) -> None:
    locator = matplotlib.dates.AutoDateLocator(maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator))


def _save(figure: plt.Figure, out: Path, name: str) -> str:
    for ax in figure.axes:
        if ax.get_label() != "<colorbar>" and isinstance(
            ax.xaxis.get_major_formatter(), matplotlib.dates.AutoDateFormatter
        ):
            _dates(ax)
    figure.tight_layout()
    figure.savefig(out / name, dpi=110)
    plt.close(figure)
    return name


def _style(name: str, evaluation: Evaluation) -> dict[str, Any]:
    agents = {run for group in evaluation.groups for run in group.runs}
    if name in agents:
        return {"lw": 1.2, "alpha": 0.8}
    if name == evaluation.reference:
        return {"lw": 1.2, "ls": ":", "color": "black"}
    return {"lw": 2.0, "ls": "--"}


def _equity(evaluation: Evaluation, out: Path) -> str:
    figure, ax = plt.subplots(figsize=(10, 4.5))
    for name in featured(evaluation):
        result = evaluation.results[name]
        ax.plot(
            result.timestamps, result.values / result.values[0], label=label(name), **_style(name, evaluation)
        )
    ax.set_yscale("log")
    ax.set_ylabel("value (log scale)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return _save(figure, out, "equity.png")


def _drawdowns(evaluation: Evaluation, out: Path) -> str:
    figure, ax = plt.subplots(figsize=(10, 3.5))
    for name in featured(evaluation):
        result = evaluation.results[name]
        ax.plot(result.timestamps, -result.drawdowns, label=label(name), **_style(name, evaluation))
    ax.set_ylabel("drawdown")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return _save(figure, out, "drawdowns.png")


def _weights(evaluation: Evaluation, out: Path) -> str:
    pairs: list[tuple[str, str | None]] = [(g.runs[0], g.profile) for g in evaluation.groups[:3]]
    if not pairs:
        pairs = [(name, None) for name in evaluation.baselines[:1]]
    figure, axes = plt.subplots(len(pairs), 2, figsize=(11, 3.2 * len(pairs)), squeeze=False)
    symbols = evaluation.market.symbols
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, len(symbols)))
    for row, pair in enumerate(pairs):
        for col, name in enumerate(pair):
            ax = axes[row][col]
            if name is None:
                ax.axis("off")
                continue
            result = evaluation.results[name]
            ax.stackplot(
                result.timestamps, result.weights_after.T, labels=symbols, colors=colors, linewidth=0
            )
            ax.set_title(label(name), fontsize=9)
            ax.set_ylim(0, 1)
            ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=6, ncol=2, loc="upper left")
    return _save(figure, out, "weights.png")


def _rolling_sharpe(evaluation: Evaluation, out: Path) -> str:
    figure, ax = plt.subplots(figsize=(10, 3.5))
    for name in featured(evaluation):
        result = evaluation.results[name]
        returns = pd.Series(result.values, index=result.timestamps).pct_change()
        window = max(2, round(60 * result.periods_per_year / 365))
        rolling = (
            returns.rolling(window).mean() / returns.rolling(window).std() * np.sqrt(result.periods_per_year)
        )
        ax.plot(rolling.index, rolling.to_numpy(), label=label(name), **_style(name, evaluation))
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("60-day Sharpe")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return _save(figure, out, "rolling_sharpe.png")


def _costs(evaluation: Evaluation, out: Path) -> str:
    table = evaluation.metrics
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 0.3 * len(table) + 1.5))
    left.barh(table.index, table["turnover"], color="tab:blue")
    left.set_xlabel("turnover per year (1 = the whole value traded once)")
    right.barh(table.index, table["fees"] * 100, color="tab:red")
    right.set_xlabel("fees, % of the initial value")
    for ax in (left, right):
        ax.tick_params(labelsize=7)
        ax.invert_yaxis()
        ax.grid(alpha=0.3, axis="x")
    right.set_yticklabels([])
    return _save(figure, out, "turnover_fees.png")


def _correlation(evaluation: Evaluation, out: Path) -> str:
    matrix = correlation(evaluation.market, evaluation.bars)
    figure, ax = plt.subplots(figsize=(1 + 0.55 * len(matrix), 0.5 + 0.5 * len(matrix)))
    image = ax.imshow(matrix.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(matrix)), matrix.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(matrix)), matrix.index, fontsize=7)
    for i in range(len(matrix)):
        for j in range(len(matrix)):
            value = float(matrix.to_numpy()[i, j])
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6)
    figure.colorbar(image, ax=ax, fraction=0.046)
    return _save(figure, out, "correlation.png")


# --- tables and rendering -------------------------------------------------------------------------


def with_intervals(table: pd.DataFrame, columns: Sequence[str] | pd.Index) -> pd.DataFrame:
    """Fold ``x_std``, ``x_low`` and ``x_high`` columns into ``x`` as text: ``value ± std [low, high]``."""
    out = pd.DataFrame(index=table.index)
    for column in columns:
        if column.endswith(("_low", "_high", "_std")):
            continue
        if f"{column}_low" not in table.columns:
            out[column] = table[column]
            continue
        fmt = _formatter(column)
        cells = []
        for name in table.index:
            spread = f" ± {fmt(table.at[name, f'{column}_std'])}" if f"{column}_std" in table.columns else ""
            bounds = f"[{fmt(table.at[name, f'{column}_low'])}, {fmt(table.at[name, f'{column}_high'])}]"
            cells.append(f"{fmt(table.at[name, column])}{spread} {bounds}")
        out[column] = cells
    return out


def _formatter(column: str):
    days = "days" in column or column.endswith(COUNT_WORDS)
    percent = any(word in column for word in PERCENT_WORDS) and not days

    def fmt(value: object) -> str:
        if isinstance(value, bool | np.bool_):
            return "yes" if value else "NO"
        if isinstance(value, int | np.integer):
            return str(value)
        if isinstance(value, float | np.floating):
            if not np.isfinite(value):
                return "n/a"
            return f"{value:.1%}" if percent else f"{value:.0f}" if days else f"{value:.2f}"
        return str(value)

    return fmt


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Numbers as text: fractions in percent, ratios with two decimals."""
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        out[column] = [v if isinstance(v, str) else _formatter(column)(v) for v in table[column]]
    return out


def markdown_table(table: pd.DataFrame) -> str:
    header = ["", *map(str, table.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join([str(index), *map(str, row)]) + " |"
        for index, row in zip(table.index, table.to_numpy(), strict=True)
    ]
    return "\n".join(lines)


def render_markdown(title: str, sections: Sequence[Section]) -> str:
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
