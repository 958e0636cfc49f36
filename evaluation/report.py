"""Reports of an evaluation: ``report.md``, a self-contained ``report.html`` (images inline, opens
offline), the figures as PNG and the numbers as CSV, all in one folder.

Sections: summary, each profile's risk budget, the claims tested in words, metrics per policy,
agents against their baselines (with each group's excess over its baseline), equity and drawdown
curves, monthly returns, the worst drawdowns and tail risk, weights over time, rolling Sharpe,
turnover and fees, diversification checks with the period's correlation heatmap, and how the
report was made.

This module writes the folder and assembles the sections; the tables are built by
:mod:`~cryptofolio.evaluation.tables`, the figures drawn by :mod:`~cryptofolio.evaluation.figures`,
and both rendered by :mod:`~cryptofolio.evaluation.rendering`. Tables give group means over seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from cryptofolio import configs
from cryptofolio.agents import make_baseline
from cryptofolio.agents.overlays import profile_of
from cryptofolio.agents.risk_profiles import DRIFT_BAND
from cryptofolio.envs import Costs
from cryptofolio.envs.outputs import check_output_folder
from cryptofolio.evaluation import figures
from cryptofolio.evaluation.budget import Budget, budget_table, kept_sentence
from cryptofolio.evaluation.diagnostics import HELD
from cryptofolio.evaluation.evaluate import CLAIMED_DRAWDOWN_REDUCTION
from cryptofolio.evaluation.figures import featured_baselines
from cryptofolio.evaluation.rendering import (
    Block,
    Image,
    Section,
    render_html,
    render_markdown,
)
from cryptofolio.evaluation.results import AgentGroup, Evaluation
from cryptofolio.evaluation.statistics import PAIRED_COVERAGE
from cryptofolio.evaluation.tables import (
    VAR_LEVEL,
    dated,
    drawdown_table,
    formatted,
    label,
    monthly_rows,
    monthly_table,
    percent,
    tail_table,
    with_intervals,
)

MIN_SEEDS = 5  # below this, a group's interval over seeds says little
WORST = 5  # drawdown episodes per policy in worst_drawdowns.csv
WORST_SHOWN = 3  # and in the report
MODELS = {"best": "its model chosen on validation", "final": "its model at the end of training"}
"""What a run's model (``evaluate``'s ``which``) is, in words."""


def write_report(
    evaluation: Evaluation,
    out: Path,
    title: str,
    command: str = "",
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write the report folder; return the path of ``report.html``.

    :param progress: called with a line as each step is done: ``tables``, ``figure equity.png`` (one
        per figure), ``report.md``, ``report.html``.
    :raises ConfigError: before writing, if ``out`` is a link, holds one, or is in a trained run folder.
    """
    say = progress or (lambda line: None)
    check_output_folder(out).mkdir(parents=True, exist_ok=True)
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
    say("tables")
    sections = _sections(evaluation, out, command, say)
    (out / "report.md").write_text(render_markdown(title, sections))
    say("report.md")
    (out / "report.html").write_text(render_html(title, sections, out))
    say("report.html")
    return out / "report.html"


def describe_costs(costs: Costs) -> str:
    """``a fee of 0.10% per unit traded`` (and the slippage and cash yield, when there are any)."""
    text = f"a fee of {costs.fee:.2%}"
    if costs.slippage:
        text += f" plus slippage of {costs.slippage:.2%}"
    text += " per unit traded"
    return text + (f", cash earning {costs.cash_yield:.2%} a year" if costs.cash_yield else "")


def seed_caveats(groups: Sequence[AgentGroup]) -> list[str]:
    """A warning per group of fewer than :data:`MIN_SEEDS` seeds, saying what its interval over seeds is.

    An ensemble or your own policy is one policy, not a group of seeds: none for it (an ensemble's seeds
    are a group of their own, warned of there).
    """
    lines = []
    for group in groups:
        n = len(group.runs)
        if n >= MIN_SEEDS or group.ensemble_of or group.own:
            continue
        if n == 1:
            meaning = "there is no interval over seeds (n/a). Train more seeds to have one"
        else:
            meaning = (
                f"its Student-t interval over {n} runs is wide, and leans on their results being near "
                "normal, which so few runs cannot show. Train more seeds to narrow it"
            )
        lines.append(f"Warning: {group.name} has {group.seeds}, fewer than {MIN_SEEDS}: {meaning}.")
    return lines


def group_table(evaluation: Evaluation) -> pd.DataFrame:
    """The groups' metrics as the report shows them: each cell ``mean ± std [low, high]`` over seeds,
    and in ``seeds`` what the group stands for, in words (``2 seeds``, ``an ensemble of 2 seeds``)."""
    summary = evaluation.group_summary
    table = formatted(with_intervals(summary, summary.columns))
    return table.assign(seeds=[group.seeds for group in evaluation.groups])


def budget_section(evaluation: Evaluation) -> Section:
    """Every policy's drawdown and volatility against the promise of each profile in the evaluation."""
    rules = {rule.name: profile_of(rule) for rule in map(make_baseline, evaluation.baselines)}
    # A group's profile is its baseline's: your policy compared with equal_weight has none.
    owner = {g.name: rules[g.profile] for g in evaluation.groups} | rules  # None: of no profile
    profiles = [p for p in owner.values() if p]
    in_groups = {run for g in evaluation.groups for run in g.runs}
    paths = {g.name: [evaluation.results[r].values for r in g.runs] for g in evaluation.groups}
    paths |= {name: [r.values] for name, r in evaluation.results.items() if name not in in_groups}
    paths.pop("reference", None)
    blocks: list[Block] = [
        "Each profile promises a maximum drawdown (its tolerance) and an expected volatility "
        "(configs/profiles.yaml). Per policy over this split: max drawdown and its excess over the "
        "tolerance (positive: broken), whether it kept the budget and how many of its seeds did, "
        "conditional drawdown at risk (mean of the worst 5% of bars' drawdowns), volatility and its ratio "
        "to the expected one, the longest time under water in days, Sharpe ratio and CAGR; agent groups: "
        "the mean over seeds of each, kept when the mean max drawdown is within the tolerance. Each "
        "profile's table holds its own agents and rules and every policy of no profile (equal weight, BTC "
        "alone, your policy compared with one of them, ...)."
    ]
    for profile in dict.fromkeys(p for p in profiles if p):
        budget = Budget.of(profile)
        own = {name: p for name, p in paths.items() if owner.get(name) in (profile, None)}
        table = budget_table(own, evaluation.market.periods_per_year, budget)
        shown = table.drop(columns=["tolerance"])
        blocks += [
            kept_sentence(table, budget),
            formatted(
                shown.assign(kept=shown["kept"].astype(bool), seeds_kept=shown["seeds_kept"].astype(int))
            ),
        ]
    if len(blocks) == 1:
        blocks.append("No policy here belongs to a risk profile, so no budget applies.")
    return Section("Risk budget", blocks)


def _sections(evaluation: Evaluation, out: Path, command: str, say: Callable[[str], None]) -> list[Section]:
    def figure(draw: Callable[[Evaluation, Path], str]) -> Image:
        name = draw(evaluation, out)
        say(f"figure {name}")
        return Image(name)

    first, last = (evaluation.market.timestamps[i] for i in (evaluation.bars.start, evaluation.bars.stop - 1))
    groups = evaluation.groups
    policies = [
        f"{len(evaluation.selection)} trained agent run(s) in "
        f"{sum(not (g.ensemble_of or g.own) for g in groups)} group(s) of seeds"
    ]
    ensembles = sum(bool(g.ensemble_of) for g in groups)
    policies += [f"{ensembles} ensemble(s) of a group's seeds"] if ensembles else []
    yours = [g.name for g in groups if g.own]
    policies += [f"your own polic{'y' if len(yours) == 1 else 'ies'} {', '.join(yours)}"] if yours else []
    low, high = CLAIMED_DRAWDOWN_REDUCTION
    summary = Section(
        "Summary",
        [
            f"{', '.join(policies)} and {len(evaluation.baselines)} rule-based baselines, on the "
            f"{evaluation.split} split of "
            f"{evaluation.market.source} ({first:%Y-%m-%d} to {last:%Y-%m-%d}, {len(evaluation.bars)} bars), "
            f"all through the same ledger at {describe_costs(evaluation.costs)}, from the same start.",
            "The guidance, wherever this report names it: the practitioner risk-profile guidance whose "
            "model portfolios the profile baselines (conservative, moderate, aggressive) hold, rebalancing "
            "to target when a position drifts outside its band (by default "
            f"{DRIFT_BAND * 100:.0f} percentage points of weight), and whose diversification checks are "
            "applied below. It claims that AI-managed portfolios see "
            f"{low:.0%}-{high:.0%} smaller drawdowns; the claims below test this for each agent group "
            "against its baseline.",
            "Intervals are 95%: over seeds for a group's metrics (a Student-t interval of the seeds' "
            "values, which covered the mean 94-95% of the time with 2 to 10 seeds in simulation, where a "
            "percentile bootstrap of them covered 51-90%), and over resampled blocks of bars (the same bars "
            "for an agent and its baseline, bias-corrected) for differences. "
            f"{PAIRED_COVERAGE} PSR is the probability that the true Sharpe ratio is above zero; DSR "
            "deflates it for the candidates (every seed of every learner evaluated, and your own policies; "
            "rules, ensembles and the reference are not trials). Where an estimate falls outside its "
            "bootstrap bounds (the replicates nearly all on one side of it), no interval is given.",
        ],
    )
    claims = Section("Claims tested", list(evaluation.claims) or ["No agent runs were evaluated."])
    models = [MODELS.get(m, f"its {m} model") for m in dict.fromkeys(evaluation.selection.get("model", []))]
    table = Section(
        "Metrics per policy",
        [
            "One row per policy" + (f"; a trained run is {' or '.join(models)}." if models else "."),
            formatted(evaluation.metrics),
        ],
    )
    reference = (
        "; share_of_reference_growth, its log growth over the reference's (no interval)"
        if "share_of_reference_growth" in evaluation.comparisons.columns
        else ""
    )
    versus = Section("Agents against their baselines", ["No agent runs were evaluated."])
    if groups:
        versus.blocks = [
            "Model selection: each trained run's model (best: the one chosen on validation; final: the one "
            "at the end of training), the training step it is from, and its validation score (n/a for a "
            "model not chosen on validation) beside the profile baseline's.",
            formatted(evaluation.selection.rename(index=label)),
            "Each group's mean over seeds ± the standard deviation over seeds, with the 95% Student-t "
            "interval over seeds in brackets. An ensemble or your own policy is one policy: it has no spread "
            "or interval over seeds (n/a).",
            *seed_caveats(groups),
            group_table(evaluation),
            "Each group against its baseline (the baseline column: its profile's rule, or the one your "
            "policy is compared with) over the same bars: the mean over its seeds of the Sharpe ratio, CAGR "
            "and max drawdown minus the baseline's, and the drawdown reduction (1 - the mean max drawdown / "
            "the baseline's), each with its 95% block-bootstrap interval in brackets" + reference + ". These "
            "intervals resample bars: they do not widen for how much the seeds differ.",
            formatted(with_intervals(evaluation.comparisons, evaluation.comparisons.columns)),
            "Each group's value relative to its baseline over the same bars (agent value / baseline value - "
            "1; above 0, the agent has more): the mean over seeds, with the band from the lowest to the "
            "highest seed.",
            figure(figures.excess),
        ]
    curves = Section(
        "Equity and drawdowns",
        [
            "Value of 1 invested at the start (log scale), and the fall from its running peak. Agent groups: "
            "the mean over seeds (solid), with a band from the lowest to the highest seed; baselines dashed "
            "above them, those the agents are compared with in black on top (each in its own dashes), the "
            "reference dotted.",
            figure(figures.equity),
            figure(figures.drawdowns),
        ],
    )
    months = monthly_table(evaluation)
    shown = [group.name for group in evaluation.groups] + featured_baselines(evaluation)
    monthly = Section(
        "Monthly returns",
        [
            "Each calendar month's return, compounded from its bars, and the year's (Total, over the months "
            "in the period); agent groups are the mean over seeds of each cell.",
            percent(monthly_rows(months, shown)),
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
            formatted(dated(worst, hourly).set_index("policy").rename(index=label)),
            "Historical value at risk and conditional value at risk (expected shortfall) at "
            f"{VAR_LEVEL:.0%}, per bar (a day on daily bars), as losses: var_95 is the loss one bar in "
            "twenty exceeded; cvar_95 the mean loss of the worst one bar in twenty (expected shortfall, flat "
            "bars counted only as far as they are among the worst). Agent groups: the mean over seeds.",
            formatted(tail_table(evaluation).rename(index=label)),
        ],
    )
    weights = Section(
        "Weights over time",
        [
            "Weights after trading, stacked: each group's mean over its seeds, then each baseline the groups "
            "are compared with, once."
            if groups
            else "Weights after trading, stacked, of the first baseline.",
            figure(figures.weights),
        ],
    )
    rolling = Section(
        "Rolling Sharpe",
        [
            "Annualized Sharpe ratio over a trailing 60-day window (none in the first 60 days); agent groups "
            "as in the equity curves.",
            figure(figures.rolling_sharpe),
        ],
    )
    costs = Section(
        "Turnover and fees",
        [
            "Value traded per year (bought plus sold, as a multiple of the value), and fees paid as a share "
            "of the initial value, on log scales (a policy that never trades shows 0 at the left edge); the "
            "numbers are beside the bars.",
            figure(figures.turnover_fees),
        ],
    )
    limits = configs.read("profiles")["diversification"]
    fewest, most = limits["positions"]
    diversity = Section(
        "Diversification",
        [
            f"The guidance's checks on each policy's average weights, an asset held at {HELD:.0%} or more: "
            "average pairwise correlation of the held assets below "
            f"{limits['max_average_correlation']:g}, no category above {limits['max_category_share']:.0%} "
            f"(cash counted as a stablecoin), {fewest} to {most} positions (cash counted).",
            formatted(evaluation.diversification),
            "Correlation of the assets' log returns per bar (a day on daily bars) over the evaluated period.",
            figure(figures.correlations),
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
    budget = budget_section(evaluation)
    return [
        summary,
        budget,
        claims,
        table,
        versus,
        curves,
        monthly,
        tails,
        weights,
        rolling,
        costs,
        diversity,
        made,
    ]
