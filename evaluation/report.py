"""Reports of an evaluation: ``report.md``, a self-contained ``report.html`` (images inline, opens
offline), the figures as PNG and the numbers as CSV, all in one folder.

Sections: summary, the claims tested in words, metrics per policy, agents against their
baselines (with each group's excess over its baseline), equity and drawdown curves, monthly
returns, the worst drawdowns and tail risk, weights over time, rolling Sharpe, turnover and
fees, diversification checks with the period's correlation heatmap, and how the report was made.

Curves draw each agent group as the mean over its seeds of the plotted quantity, with a band
from its lowest to its highest seed, beside the baselines; tables give group means over seeds.
"""

from __future__ import annotations

import base64
import html
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cryptofolio.agents.risk_profiles import DRIFT_BAND
from cryptofolio.envs import Costs
from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.diagnostics import correlation
from cryptofolio.evaluation.evaluate import CLAIMED_DRAWDOWN_REDUCTION
from cryptofolio.evaluation.results import AgentGroup, Evaluation

PERCENT_WORDS = ("return", "cagr", "volatility", "drawdown", "fees", "invested", "share", "reduction", "var_")
COUNT_WORDS = ("seeds", "steps", "step", "positions")  # columns of whole numbers
CONTEXT = ("btc_only", "equal_weight")  # baselines drawn beside the agents for scale
MIN_SEEDS = 5  # below this, a group's interval over seeds says little
VAR_LEVEL = 0.95
WORST = 5  # drawdown episodes per policy in worst_drawdowns.csv
WORST_SHOWN = 3  # and in the report
COLORS = (*matplotlib.color_sequences["tab10"], *matplotlib.color_sequences["Dark2"])


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
    monthly_table(evaluation).to_csv(out / "monthly_returns.csv", index=False)
    worst = drawdown_table(evaluation, list(evaluation.results), WORST)
    worst.to_csv(out / "worst_drawdowns.csv", index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    tail_table(evaluation).to_csv(out / "tail_risk.csv", index_label="policy")
    for name, result in evaluation.results.items():
        result.save(out / "results" / f"{name}.csv")
    sections = _sections(evaluation, out, command)
    (out / "report.md").write_text(render_markdown(title, sections))
    (out / "report.html").write_text(render_html(title, sections, out))
    return out / "report.html"


def featured_baselines(evaluation: Evaluation) -> list[str]:
    """Baselines drawn beside the agents: their profiles, the reference, BTC and equal weight.

    Without agents, every evaluated baseline and the reference.
    """
    if evaluation.groups:
        names = list(dict.fromkeys(group.profile for group in evaluation.groups))
        names += [evaluation.reference] if evaluation.reference else []
        names += list(CONTEXT)
    else:
        names = [*evaluation.baselines, *([evaluation.reference] if evaluation.reference else [])]
    return list(dict.fromkeys(n for n in names if n in evaluation.results))


def describe_costs(costs: Costs) -> str:
    """``a fee of 0.10% per unit traded`` (and the slippage and cash yield, when there are any)."""
    text = f"a fee of {costs.fee:.2%}"
    if costs.slippage:
        text += f" plus slippage of {costs.slippage:.2%}"
    text += " per unit traded"
    return text + (f", cash earning {costs.cash_yield:.2%} a year" if costs.cash_yield else "")


def seed_caveats(groups: Sequence[AgentGroup]) -> list[str]:
    """A warning per group with fewer than :data:`MIN_SEEDS` runs, saying what its interval over seeds is."""
    lines = []
    for group in groups:
        n = len(group.runs)
        if n >= MIN_SEEDS:
            continue
        if n == 1:
            meaning = "there is no interval over seeds (n/a)"
        elif n == 2:
            meaning = 'its "95% interval" over seeds is the range of its two runs, lowest to highest'
        else:
            meaning = (
                f"a bootstrap over {n} runs cannot reach beyond their range, so its interval is too narrow"
            )
        lines.append(
            f"Warning: {group.name} has {n} seed{'s' if n > 1 else ''}, fewer than {MIN_SEEDS}: {meaning}. "
            "Train more seeds before reading it as a confidence interval."
        )
    return lines


def _sections(evaluation: Evaluation, out: Path, command: str) -> list[Section]:
    first, last = (evaluation.market.timestamps[i] for i in (evaluation.bars.start, evaluation.bars.stop - 1))
    n_runs = sum(len(g.runs) for g in evaluation.groups)
    low, high = CLAIMED_DRAWDOWN_REDUCTION
    summary = Section(
        "Summary",
        [
            f"{n_runs} trained agent run(s) in {len(evaluation.groups)} group(s) and "
            f"{len(evaluation.baselines)} rule-based baselines, on the {evaluation.split} split of "
            f"{evaluation.market.source} ({first:%Y-%m-%d} to {last:%Y-%m-%d}, {len(evaluation.bars)} bars), "
            f"all through the same ledger at {describe_costs(evaluation.costs)}, from the same start.",
            "The guidance, wherever this report names it: the practitioner risk-profile guidance whose "
            "model portfolios the profile baselines (conservative, moderate, aggressive) hold, rebalancing "
            "to target when a position drifts outside its band (by default "
            f"{DRIFT_BAND * 100:.0f} percentage points of weight), and whose diversification checks are "
            "applied below. It claims that AI-managed portfolios see "
            f"{low:.0%}-{high:.0%} smaller drawdowns; the claims below test this for each agent group "
            "against its profile baseline.",
            "Intervals are 95%: over seeds for a group's metrics (a percentile bootstrap of the seeds' "
            "values, which with 2 seeds is just the range of the two runs, and says little below "
            f"{MIN_SEEDS} seeds), and over resampled blocks of bars (the same bars for an agent and its "
            "baseline) for differences. PSR is the probability that the true Sharpe ratio is above zero; DSR "
            "deflates it for the number of policies compared.",
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
            *seed_caveats(evaluation.groups),
            formatted(with_intervals(evaluation.group_summary, evaluation.group_summary.columns)),
            "Each group minus its profile baseline over the same bars (estimate and 95% block-bootstrap "
            "interval). These intervals resample bars for the group's mean over seeds: they do not widen "
            "for how much the seeds differ.",
            formatted(with_intervals(evaluation.comparisons, evaluation.comparisons.columns)),
            "Each group's value relative to its profile baseline over the same bars (agent value / baseline "
            "value - 1; above 0, the agent has more): the mean over seeds, with the band from the lowest to "
            "the highest seed.",
            Image(_excess(evaluation, out)),
        ]
    curves = Section(
        "Equity and drawdowns",
        [
            "Value of 1 invested at the start (log scale), and the fall from its running peak. Agent groups: "
            "the mean over seeds (solid), with a band from the lowest to the highest seed; baselines dashed, "
            "the reference dotted.",
            Image(_equity(evaluation, out)),
            Image(_drawdowns(evaluation, out)),
        ],
    )
    months = monthly_table(evaluation)
    shown = [group.name for group in evaluation.groups] + featured_baselines(evaluation)
    monthly = Section(
        "Monthly returns",
        [
            "Each calendar month's return, compounded from its bars, and the year's (Total, over the months "
            "in the period); agent groups are the mean over seeds of each cell.",
            _percent(_rows(months, shown)),
        ],
    )
    drawn = [run for group in evaluation.groups for run in group.runs] + featured_baselines(evaluation)
    worst = drawdown_table(evaluation, drawn, WORST_SHOWN)
    hourly = evaluation.market.periods_per_year > 365
    tails = Section(
        "Worst drawdowns and tail risk",
        [
            f"The {WORST_SHOWN} deepest falls of each policy drawn above (each agent run on its own: the "
            "episodes of different seeds do not average): from the peak through the trough to the "
            "recovery (the first bar back at the peak), and the calendar days from peak to recovery, or to "
            "the end.",
            formatted(_dated(worst, hourly).set_index("policy").rename(index=label)),
            "Historical value at risk and conditional value at risk (expected shortfall) at "
            f"{VAR_LEVEL:.0%}, per bar (a day on daily bars), as losses: var_95 is the loss one bar in "
            "twenty exceeded; cvar_95 the mean loss of those bars. Agent groups: the mean over seeds.",
            formatted(tail_table(evaluation).rename(index=label)),
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
        [
            "Annualized Sharpe ratio over a trailing 60-day window; agent groups as in the equity curves.",
            Image(_rolling_sharpe(evaluation, out)),
        ],
    )
    costs = Section(
        "Turnover and fees",
        [
            "Value traded per year, and fees paid as a share of the initial value, on log scales (a policy "
            "that never trades shows 0 at the left edge); the numbers are beside the bars.",
            Image(_costs(evaluation, out)),
        ],
    )
    diversity = Section(
        "Diversification",
        [
            "The guidance's checks on each policy's average weights: average pairwise correlation of the "
            "held assets below 0.75, no category above 40%, 8 to 15 positions.",
            formatted(evaluation.diversification),
            "Correlation of the assets' daily log returns over the evaluated period.",
            Image(_correlation(evaluation, out)),
        ],
    )
    made = Section(
        "How this was made",
        [
            f"Command: `{command}`" if command else "Made by evaluation.report.write_report.",
            "Numbers: metrics.csv, selection.csv, groups.csv, comparisons.csv, monthly_returns.csv, "
            f"worst_drawdowns.csv (the {WORST} deepest per policy), tail_risk.csv, diversification.csv; "
            "per-bar results in results/.",
        ],
    )
    return [summary, claims, table, versus, curves, monthly, tails, weights, rolling, costs, diversity, made]


# --- tables ---------------------------------------------------------------------------------------


def monthly_table(evaluation: Evaluation) -> pd.DataFrame:
    """Monthly returns (:func:`~cryptofolio.evaluation.metrics.monthly_returns`) of every policy, then
    of each agent group (the mean over its seeds of each cell), as fractions.

    :return: one row per policy and year; columns policy, year, Jan to Dec, Total.
    """
    tables = {
        name: metrics.monthly_returns(result.values, result.timestamps)
        for name, result in evaluation.results.items()
    }
    for group in evaluation.groups:
        tables[group.name] = pd.concat([tables[run] for run in group.runs]).groupby(level="year").mean()
    return pd.concat(tables, names=["policy"]).reset_index()


def drawdown_table(evaluation: Evaluation, names: Sequence[str], count: int) -> pd.DataFrame:
    """The ``count`` worst drawdowns (:func:`~cryptofolio.evaluation.metrics.worst_drawdowns`) of each
    named policy, in the order given.

    :return: columns policy, drawdown (a fraction), peak, trough, recovery (NaT: not recovered), days.
    """
    tables = []
    for name in names:
        result = evaluation.results[name]
        tables.append(metrics.worst_drawdowns(result.values, result.timestamps, count).assign(policy=name))
    return pd.concat(tables, ignore_index=True)[["policy", "drawdown", "peak", "trough", "recovery", "days"]]


def _dated(table: pd.DataFrame, hourly: bool) -> pd.DataFrame:
    """:func:`drawdown_table` with its dates as text, ``not recovered`` for none."""
    shown = table.copy()
    for column in ("peak", "trough", "recovery"):
        shown[column] = [
            "not recovered" if pd.isna(t) else f"{t:%Y-%m-%d %H:%M}" if hourly else f"{t:%Y-%m-%d}"
            for t in table[column]
        ]
    return shown


def tail_table(evaluation: Evaluation) -> pd.DataFrame:
    """Per-bar historical VaR and CVaR at :data:`VAR_LEVEL`, as losses: each agent group (mean over its
    seeds), then every policy.

    :return: indexed by group or policy; columns var_95 and cvar_95, fractions of the value.
    """
    table = pd.DataFrame(
        {
            name: {
                "var_95": metrics.historical_var(result.values, VAR_LEVEL),
                "cvar_95": metrics.historical_cvar(result.values, VAR_LEVEL),
            }
            for name, result in evaluation.results.items()
        }
    ).T
    groups = pd.DataFrame({group.name: table.loc[group.runs].mean() for group in evaluation.groups}).T
    return pd.concat([groups, table])


def _rows(months: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The rows of :func:`monthly_table` of ``names``, in that order, indexed ``<policy> <year>``."""
    shown = pd.concat([months[months["policy"] == name] for name in names])
    index = [f"{label(name)} {year}" for name, year in zip(shown["policy"], shown["year"], strict=True)]
    return shown.drop(columns=["policy", "year"]).set_axis(index, axis=0)


def _percent(table: pd.DataFrame) -> pd.DataFrame:
    return table.map(lambda v: "" if pd.isna(v) else f"{v:.1%}")


# --- figures ---------------------------------------------------------------------------------------


def label(name: str) -> str:
    """A run's name without its start time, for legends: ``ppo-moderate-synthetic-s0``."""
    return re.sub(r"-\d{8}-\d{6}(-\d+)?$", "", name)


def seed_band(series: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, lowest and highest over seeds, bar by bar, of k (n,) series: three (n,) arrays."""
    stack = np.vstack(series)
    return stack.mean(axis=0), stack.min(axis=0), stack.max(axis=0)


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


def _colors() -> Iterator[Any]:
    """Colors in a fixed order: groups first, then baselines, the same in every figure."""
    return itertools.cycle(COLORS)


def _group_label(group: AgentGroup) -> str:
    n = len(group.runs)
    return f"{group.name} (mean of {n} seed{'s' if n > 1 else ''})"


def _lines(ax: plt.Axes, evaluation: Evaluation, series: Callable[[str], np.ndarray]) -> None:
    """Each group's mean over seeds of ``series`` (per policy name) with its seed band, then the
    featured baselines: dashed, the reference dotted black."""
    stamps = next(iter(evaluation.results.values())).timestamps
    colors = _colors()
    for group in evaluation.groups:
        color = next(colors)
        mean, low, high = seed_band([series(run) for run in group.runs])
        ax.fill_between(stamps, low, high, color=color, alpha=0.25, linewidth=0)
        ax.plot(stamps, mean, color=color, lw=1.6, label=_group_label(group))
    for name in featured_baselines(evaluation):
        if name == evaluation.reference:
            ax.plot(stamps, series(name), lw=1.2, ls=":", color="black", label=name)
        else:
            ax.plot(stamps, series(name), lw=1.4, ls="--", color=next(colors), label=name)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)


def _growth(evaluation: Evaluation, name: str) -> np.ndarray:
    values = evaluation.results[name].values
    return values / values[0]


def _equity(evaluation: Evaluation, out: Path) -> str:
    figure, ax = plt.subplots(figsize=(10, 4.5))
    _lines(ax, evaluation, lambda name: _growth(evaluation, name))
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g}"))
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.set_ylabel("value (log scale)")
    return _save(figure, out, "equity.png")


def _drawdowns(evaluation: Evaluation, out: Path) -> str:
    figure, ax = plt.subplots(figsize=(10, 3.5))
    _lines(ax, evaluation, lambda name: -evaluation.results[name].drawdowns)
    ax.set_ylabel("drawdown")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    return _save(figure, out, "drawdowns.png")


def _excess(evaluation: Evaluation, out: Path) -> str:
    figure, ax = plt.subplots(figsize=(10, 3.5))
    stamps = next(iter(evaluation.results.values())).timestamps
    for group, color in zip(evaluation.groups, _colors(), strict=False):
        baseline = _growth(evaluation, group.profile)
        mean, low, high = seed_band([_growth(evaluation, run) / baseline - 1.0 for run in group.runs])
        ax.fill_between(stamps, low, high, color=color, alpha=0.25, linewidth=0)
        ax.plot(stamps, mean, color=color, lw=1.6, label=f"{_group_label(group)} vs {group.profile}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("agent / baseline value - 1")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(figure, out, "excess.png")


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
    def rolling(name: str) -> np.ndarray:
        result = evaluation.results[name]
        returns = pd.Series(result.values).pct_change()
        window = max(2, round(60 * result.periods_per_year / 365))
        mean, spread = returns.rolling(window).mean(), returns.rolling(window).std()
        return (mean / spread * np.sqrt(result.periods_per_year)).to_numpy()

    figure, ax = plt.subplots(figsize=(10, 3.5))
    _lines(ax, evaluation, rolling)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("60-day Sharpe")
    return _save(figure, out, "rolling_sharpe.png")


def _costs(evaluation: Evaluation, out: Path) -> str:
    table = evaluation.metrics.rename(index=label)
    figure, axes = plt.subplots(1, 2, figsize=(11, 0.3 * len(table) + 1.5), sharey=True)
    columns = (("turnover", 1.0, "tab:blue"), ("fees", 100.0, "tab:red"))
    for ax, (column, scale, color) in zip(axes, columns, strict=True):
        numbers = table[column].to_numpy(dtype=np.float64) * scale
        positive = numbers[numbers > 0]
        edge = positive.min() / 3 if len(positive) else 0.01
        ax.barh(table.index, np.where(numbers > 0, numbers - edge, np.nan), left=edge, color=color)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.set_xlim(edge, (positive.max() if len(positive) else 1.0) * 8)
        for row, number in enumerate(numbers):
            ax.text(max(number, edge), row, f" {number:.3g}", va="center", fontsize=6)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    axes[0].invert_yaxis()
    axes[0].set_xlabel("turnover per year, log scale (1 = the whole value traded once)")
    axes[1].set_xlabel("fees, % of the initial value, log scale")
    return _save(figure, out, "turnover_fees.png")


def text_color(rgba: Sequence[float] | np.ndarray) -> str:
    """``white`` on a dark cell, ``black`` on a light one, by the cell's relative luminance (Rec. 709)."""
    red, green, blue = rgba[:3]
    return "white" if 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5 else "black"


def _correlation(evaluation: Evaluation, out: Path) -> str:
    matrix = correlation(evaluation.market, evaluation.bars)
    figure, ax = plt.subplots(figsize=(1 + 0.55 * len(matrix), 0.5 + 0.5 * len(matrix)))
    image = ax.imshow(matrix.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    cells = image.to_rgba(matrix.to_numpy())  # (N, N, 4) the colour of each cell
    ax.set_xticks(range(len(matrix)), matrix.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(matrix)), matrix.index, fontsize=7)
    for i in range(len(matrix)):
        for j in range(len(matrix)):
            value = float(matrix.to_numpy()[i, j])
            if np.isfinite(value):
                ax.text(
                    j, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color=text_color(cells[i, j])
                )
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
