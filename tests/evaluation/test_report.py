"""The report's tables and figures: group means with seed bands, excess over the baseline, tear-sheet tables.

No training: two baselines pose as the seeds of an agent group for the moderate profile.
"""

import re
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cryptofolio.evaluation import figures, metrics, report, tables
from cryptofolio.evaluation.evaluate import evaluate
from cryptofolio.evaluation.results import AgentGroup

SEEDS = ("equal_weight", "btc_only")


@pytest.fixture(scope="module")
def baselines(default_market):
    market, splits = default_market
    policies = ["moderate", "equal_weight", "btc_only", "olmar", "cash"]
    return evaluate([], policies, market, splits, "test", resamples=400)


@pytest.fixture(scope="module")
def grouped(baselines):
    """``rule-moderate``: equal weight and BTC alone as its two seeds, compared with moderate."""
    group = AgentGroup("rule", "moderate", list(SEEDS))
    empty = pd.DataFrame(index=[group.name])
    return replace(baselines, groups=[group], group_summary=empty, comparisons=empty)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("grouped")


@pytest.fixture(scope="module")
def drawn(grouped, folder):
    """The grouped report's figures, by file name, as they were saved; the report is in ``folder``."""
    kept: dict[str, plt.Figure] = {}
    save = figures._save

    def keep(figure, out, name, top=1.0):
        kept[name] = figure
        return save(figure, out, name, top)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plt, "close", lambda figure: None)  # keep them open to be read
        patch.setattr(figures, "_save", keep)
        report.write_report(grouped, folder, "Grouped", "")
    yield kept
    for figure in kept.values():
        plt.close(figure)


def growth(evaluation, name):
    values = evaluation.results[name].values
    return values / values[0]


def test_a_group_is_drawn_as_its_mean_over_seeds_with_a_band(grouped, drawn):
    (ax,) = drawn["equity.png"].axes
    line = ax.get_lines()[0]  # groups first, then the baselines
    assert line.get_label() == "rule-moderate (mean of 2 seeds)"
    np.testing.assert_allclose(line.get_ydata(), np.mean([growth(grouped, s) for s in SEEDS], axis=0))
    (band,) = ax.collections  # one shaded band, for the one group
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(np.max([growth(grouped, s) for s in SEEDS]))


def test_the_excess_figure_is_the_value_relative_to_the_profile_baseline(grouped, drawn):
    (ax,) = drawn["excess.png"].axes
    line = ax.get_lines()[0]
    assert line.get_label() == "rule-moderate (mean of 2 seeds) vs moderate"
    ratios = [growth(grouped, s) / growth(grouped, "moderate") - 1 for s in SEEDS]
    np.testing.assert_allclose(line.get_ydata(), np.mean(ratios, axis=0))
    assert line.get_ydata()[0] == 0.0  # every policy starts level


def test_turnover_and_fees_are_on_log_scales_with_their_numbers(grouped, drawn):
    turnover, fees = drawn["turnover_fees.png"].axes
    assert turnover.get_xscale() == fees.get_xscale() == "log"
    olmar = grouped.metrics.loc["olmar", "turnover"]
    assert f" {olmar:.3g}" in [text.get_text() for text in turnover.texts]
    assert " 0" in [text.get_text() for text in turnover.texts]  # cash never trades


def test_correlation_numbers_are_white_on_dark_cells_and_black_on_light_ones(drawn):
    ax = drawn["correlation.png"].axes[0]
    colors = {text.get_text(): text.get_color() for text in ax.texts}
    assert colors["1.00"] == "white"  # the diagonal, dark red
    light = [color for label, color in colors.items() if abs(float(label)) < 0.45]
    assert light and set(light) == {"black"}


def test_text_color_follows_the_cell_luminance():
    assert figures.text_color((0.4, 0.0, 0.05, 1.0)) == "white"  # dark red
    assert figures.text_color((0.97, 0.97, 0.97, 1.0)) == "black"  # near white
    assert figures.text_color((0.02, 0.19, 0.38, 1.0)) == "white"  # dark blue
    assert figures.text_color((1.0, 1.0, 0.0, 1.0)) == "black"  # yellow is light: 0.93


def test_seed_band_is_the_mean_lowest_and_highest_bar_by_bar():
    mean, low, high = figures.seed_band([np.array([1.0, 4.0]), np.array([3.0, 2.0]), np.array([2.0, 3.0])])
    np.testing.assert_allclose(mean, [2.0, 3.0])
    np.testing.assert_allclose(low, [1.0, 2.0])
    np.testing.assert_allclose(high, [3.0, 4.0])


def test_groups_with_fewer_than_five_seeds_are_warned_about():
    groups = [AgentGroup("ppo", "moderate", [f"s{i}" for i in range(n)]) for n in (1, 2, 3, 5)]
    one, two, three = report.seed_caveats(groups)  # none for five seeds
    assert one.startswith("Warning: ppo-moderate has 1 seed, fewer than 5") and "no interval" in one
    assert "its Student-t interval over 2 runs is wide" in two
    assert "its Student-t interval over 3 runs is wide" in three


def test_an_ensemble_or_your_policy_is_one_policy_in_labels_and_warnings():
    ensemble = AgentGroup("ppo", "moderate", ["ppo-moderate-ensemble"], ensemble_of=2)
    yours = AgentGroup("momentum", "moderate", ["momentum"], own=True)
    assert figures._group_label(ensemble) == "ppo-moderate-ensemble (an ensemble of 2 seeds)"
    assert figures._group_label(yours) == "momentum (your policy)"
    assert report.seed_caveats([ensemble, yours]) == []  # not groups of seeds: nothing to warn of


@pytest.mark.parametrize(("low", "high"), [(0.85, 1.15), (0.95, 1.02), (0.2, 8.0), (0.5, 3.0)])
def test_a_log_value_axis_labels_at_least_three_ticks_on_any_range(low, high, tmp_path):
    figure, ax = plt.subplots()
    ax.plot([0, 1], [low, high])
    figures.log_value_axis(ax)
    figure.savefig(tmp_path / "axis.png")
    shown = [t for t in ax.yaxis.get_major_ticks() if t.label1.get_text() and low <= t.get_loc() <= high]
    plt.close(figure)
    assert len(shown) >= 3 and all("10^" not in t.label1.get_text() for t in shown)


def test_the_baseline_the_agents_are_compared_with_is_drawn_above_them(drawn):
    for name in ("equity.png", "drawdowns.png"):
        (ax,) = drawn[name].axes
        lines = {line.get_label(): line for line in ax.get_lines()}
        agent, rule = lines["rule-moderate (mean of 2 seeds)"], lines["moderate"]
        assert rule.get_zorder() > agent.get_zorder() and rule.get_color() == "black"


def test_the_weights_figure_shows_every_group_and_each_baseline_once(grouped, drawn):
    panels = [ax for ax in drawn["weights.png"].axes if ax.axison]
    assert [ax.get_title() for ax in panels] == ["rule-moderate (mean of 2 seeds)", "moderate"]
    (first, *_) = panels[0].collections  # the stack's bottom layer: cash, the mean over seeds
    mean_cash = np.mean([grouped.results[s].weights_after[:, 0] for s in SEEDS], axis=0)
    np.testing.assert_allclose(first.get_paths()[0].vertices[1 : len(mean_cash) + 1, 1], mean_cash)


def test_the_baselines_beside_agents_are_their_profile_the_reference_btc_and_equal_weight(baselines, grouped):
    assert figures.featured_baselines(grouped) == ["moderate", "reference", "btc_only", "equal_weight"]
    assert figures.featured_baselines(baselines) == [*baselines.baselines, "reference"]  # without agents: all


def test_monthly_returns_of_a_group_are_the_mean_of_its_seeds(grouped):
    table = tables.monthly_table(grouped).set_index(["policy", "year"])
    for name in grouped.results:
        result = grouped.results[name]
        expected = metrics.monthly_returns(result.values, result.timestamps)
        pd.testing.assert_frame_equal(table.loc[name], expected, check_names=False)
    seeds = [table.loc[seed] for seed in SEEDS]
    pd.testing.assert_frame_equal(table.loc["rule-moderate"], (seeds[0] + seeds[1]) / 2)


def test_tail_risk_lists_the_groups_first_then_every_policy(grouped):
    table = tables.tail_table(grouped)
    assert list(table.index) == ["rule-moderate", *grouped.results]
    values = grouped.results["btc_only"].values
    assert table.loc["btc_only", "var_95"] == metrics.historical_var(values, 0.95)
    assert table.loc["btc_only", "cvar_95"] == metrics.historical_cvar(values, 0.95)
    assert table.loc["rule-moderate", "cvar_95"] == pytest.approx(table.loc[list(SEEDS), "cvar_95"].mean())
    assert (table["cvar_95"] >= table["var_95"]).drop("cash").all()


def test_the_deepest_drawdown_of_each_policy_is_its_maximum_drawdown(grouped):
    table = tables.drawdown_table(grouped, ["olmar", "moderate"], 3)
    assert table["policy"].unique().tolist() == ["olmar", "moderate"]
    assert table.groupby("policy").size().max() <= 3
    for name in ("olmar", "moderate"):
        first = table[table["policy"] == name].iloc[0]
        assert first["drawdown"] == pytest.approx(grouped.metrics.loc[name, "max_drawdown"])
        assert first["peak"] < first["trough"]
        assert pd.isna(first["recovery"]) or first["trough"] < first["recovery"]


def test_the_report_defines_the_guidance_and_writes_the_new_tables(drawn, folder):
    html = (folder / "report.html").read_text()
    markdown = (folder / "report.md").read_text()
    assert markdown.count("The guidance, wherever this report names it") == 1
    assert "30%-40% smaller drawdowns" in markdown and "percentage points of weight" in markdown
    assert "Warning: rule-moderate has 2 seeds, fewer than 5" in markdown
    for title in ("Monthly returns", "Worst drawdowns and tail risk"):
        assert f"## {title}" in markdown and f"<h2>{title}</h2>" in html
    assert re.search(r"\| rule-moderate 2024 \|  \| -?\d+\.\d% \|", markdown)  # no January bars, then Feb
    monthly = pd.read_csv(folder / "monthly_returns.csv")
    assert list(monthly.columns) == ["policy", "year", *metrics.MONTHS, "Total"]
    worst = pd.read_csv(folder / "worst_drawdowns.csv")
    assert worst.groupby("policy").size().max() == report.WORST
    assert set(pd.read_csv(folder / "tail_risk.csv", index_col="policy").columns) == {"var_95", "cvar_95"}
    assert (folder / "excess.png").is_file() and html.count('src="data:image/png;base64,') == 7


def test_a_report_without_agents_has_no_excess_figure(baselines, tmp_path):
    html = report.write_report(baselines, tmp_path, "Baselines", "").read_text()
    assert not (tmp_path / "excess.png").exists() and html.count('src="data:image/png;base64,') == 6
    assert "Warning:" not in (tmp_path / "report.md").read_text()


def test_the_risk_budget_comes_first_with_each_profiles_own_policies(default_market, grouped, drawn, folder):
    market, splits = default_market
    rules = evaluate(
        [], ["moderate+ddbrake", "aggressive", "equal_weight"], market, splits, "test", resamples=50
    )
    section = report.budget_section(rules)
    tables_shown = [block for block in section.blocks if isinstance(block, pd.DataFrame)]
    moderate, aggressive = (set(table.index) for table in tables_shown)
    assert moderate == {"moderate+ddbrake", "equal_weight"} and aggressive == {"aggressive", "equal_weight"}
    sentences = [block for block in section.blocks if isinstance(block, str)]
    assert any(
        s.startswith("The moderate budget (max drawdown 35%, volatility 50%) was kept by") for s in sentences
    )
    text = (folder / "report.md").read_text()  # the grouped report ``drawn`` wrote
    assert text.index("## Summary") < text.index("## Risk budget") < text.index("## Claims tested")
