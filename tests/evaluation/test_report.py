"""The report's tables and figures: group means with seed bands, excess over the baseline, tear-sheet tables.

No training: two baselines pose as the seeds of an agent group for the moderate profile.
"""

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def kept_figures() -> Iterator[dict[str, plt.Figure]]:
    """The figures saved inside the block, by file name, kept open to be read: close them when done."""
    kept: dict[str, plt.Figure] = {}
    save = figures._save

    def keep(figure, out, name, **layout):
        kept[name] = figure
        return save(figure, out, name, **layout)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plt, "close", lambda figure: None)
        patch.setattr(figures, "_save", keep)
        yield kept


@pytest.fixture(scope="module")
def drawn(grouped, folder):
    """The grouped report's figures, by file name, as they were saved; the report is in ``folder``."""
    with kept_figures() as kept:
        report.write_report(grouped, folder, "Grouped", "")
    yield kept
    for figure in kept.values():
        plt.close(figure)


def figure_of(draw, evaluation, out) -> plt.Figure:
    """The figure ``draw(evaluation, out)`` saves, kept open to be read: close it when done."""
    with kept_figures() as kept:
        draw(evaluation, out)
    (figure,) = kept.values()
    return figure


@pytest.fixture(scope="module")
def two_profiles(baselines):
    """``rule-moderate`` (two seeds), its ensemble, and ``mix-olmar`` (two seeds) compared with olmar."""
    groups = [
        AgentGroup("rule", "moderate", list(SEEDS)),
        AgentGroup("rule", "moderate", ["olmar"], ensemble_of=2),
        AgentGroup("mix", "olmar", ["cash", "equal_weight"]),
    ]
    return replace(baselines, groups=groups)


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
    assert one.endswith("Train more seeds to have one.")  # not to narrow an interval it does not have
    assert "its Student-t interval over 2 runs is wide" in two
    assert "its Student-t interval over 3 runs is wide" in three


def test_an_ensemble_or_your_policy_is_one_policy_in_labels_and_warnings():
    ensemble = AgentGroup("ppo", "moderate", ["ppo-moderate-ensemble"], ensemble_of=2)
    yours = AgentGroup("momentum", "moderate", ["momentum"], own=True)
    assert figures._group_label(ensemble) == "ppo-moderate-ensemble (an ensemble of 2 seeds)"
    assert figures._group_label(yours) == "momentum (your policy)"
    assert report.seed_caveats([ensemble, yours]) == []  # not groups of seeds: nothing to warn of


def test_a_group_of_one_run_is_labelled_as_one_seed_not_as_a_mean():
    assert figures._group_label(AgentGroup("ppo", "moderate", ["ppo-moderate-s0"])) == "ppo-moderate (1 seed)"


RANGES = [(0.85, 1.15), (0.95, 1.02), (0.2, 8.0), (0.45, 3.2), (0.9, 1.9), (0.05, 40.0), (0.01, 1000.0)]


def labelled_ticks(low, high, folder):
    """The y ticks labelled inside ``low`` to ``high`` on a saved log value axis of the figures' height,
    and the labels' boxes on the page, bottom first."""
    figure, ax = plt.subplots(figsize=(10, 3.5))
    ax.plot([0, 1], [low, high])
    figures.log_value_axis(ax)
    figure.savefig(folder / "axis.png")
    shown = [t for t in ax.yaxis.get_major_ticks() if t.label1.get_text() and low <= t.get_loc() <= high]
    boxes = sorted((t.label1.get_window_extent() for t in shown), key=lambda box: box.y0)
    plt.close(figure)
    return shown, boxes


@pytest.mark.parametrize(("low", "high"), RANGES)
def test_a_log_value_axis_labels_at_least_four_ticks_in_plain_numbers_on_any_range(low, high, tmp_path):
    shown, _ = labelled_ticks(low, high, tmp_path)
    assert len(shown) >= 4 and all(re.fullmatch(r"\d+(\.\d+)?", t.label1.get_text()) for t in shown)


@pytest.mark.parametrize(("low", "high"), RANGES)
def test_a_log_value_axis_labels_do_not_overlap_on_any_range(low, high, tmp_path):
    _, boxes = labelled_ticks(low, high, tmp_path)
    assert all(below.y1 < above.y0 for below, above in itertools.pairwise(boxes))


def test_the_turnover_and_fees_axes_are_labelled_at_four_ticks_or_more(grouped, tmp_path):
    narrow = pd.DataFrame({"turnover": [2.0, 3.0, 4.0], "fees": [0.002, 0.003, 0.004]}, index=["a", "b", "c"])
    figure = figure_of(figures.turnover_fees, replace(grouped, metrics=narrow), tmp_path)
    counts = []
    for ax in figure.axes:
        low, high = ax.get_xlim()
        counts.append(
            sum(bool(t.label1.get_text()) and low <= t.get_loc() <= high for t in ax.xaxis.get_major_ticks())
        )
    plt.close(figure)
    assert min(counts) >= 4


def test_baselines_are_drawn_above_the_agents_and_the_compared_rule_on_top(drawn):
    for name in ("equity.png", "drawdowns.png", "rolling_sharpe.png"):
        (ax,) = drawn[name].axes
        lines = {line.get_label(): line for line in ax.get_lines()}
        agents = [lines["rule-moderate (mean of 2 seeds)"], *ax.collections]  # its line and seed band
        others = [lines[baseline] for baseline in ("reference", "btc_only", "equal_weight")]
        rule = lines["moderate"]
        assert max(a.get_zorder() for a in agents) < min(b.get_zorder() for b in others) < rule.get_zorder()
        assert rule.get_color() == "black"


def test_the_baselines_of_two_profiles_are_both_black_in_different_dashes(two_profiles, tmp_path):
    figure = figure_of(figures.equity, two_profiles, tmp_path)
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    plt.close(figure)
    assert lines["moderate"].get_color() == lines["olmar"].get_color() == "black"
    assert lines["moderate"].get_linestyle() != lines["olmar"].get_linestyle()


def test_the_weights_figure_shows_each_groups_mean_over_its_seeds(grouped, drawn):
    panels = [ax for ax in drawn["weights.png"].axes if ax.axison]
    assert [ax.get_title() for ax in panels] == ["rule-moderate (mean of 2 seeds)", "moderate"]
    (first, *_) = panels[0].collections  # the stack's bottom layer: cash, the mean over seeds
    mean_cash = np.mean([grouped.results[s].weights_after[:, 0] for s in SEEDS], axis=0)
    np.testing.assert_allclose(first.get_paths()[0].vertices[1 : len(mean_cash) + 1, 1], mean_cash)


def test_the_weights_figure_has_a_panel_per_group_then_per_compared_baseline_once(two_profiles, tmp_path):
    figure = figure_of(figures.weights, two_profiles, tmp_path)
    titles = [ax.get_title() for ax in figure.axes if ax.axison]
    plt.close(figure)
    assert titles == [
        "rule-moderate (mean of 2 seeds)",
        "rule-moderate-ensemble (an ensemble of 2 seeds)",
        "mix-olmar (mean of 2 seeds)",
        "moderate",
        "olmar",
    ]


def test_no_asset_is_stacked_in_a_colour_so_light_it_looks_blank(drawn):
    for ax in drawn["weights.png"].axes:
        for layer in ax.collections:
            red, green, blue, _ = layer.get_facecolor()[0]
            assert 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.75  # Rec. 709 luminance; white is 1


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


def test_the_group_table_says_what_each_group_stands_for(two_profiles):
    names = [group.name for group in two_profiles.groups]
    summary = pd.DataFrame({"sharpe": [1.0, 1.1, 0.9], "seeds": [2, 1, 2]}, index=names)
    table = report.group_table(replace(two_profiles, group_summary=summary))
    assert table["seeds"].tolist() == ["2 seeds", "an ensemble of 2 seeds", "2 seeds"]


def test_the_report_names_the_student_t_interval_over_seeds(drawn, folder):
    markdown = (folder / "report.md").read_text()
    assert "with the 95% Student-t interval over seeds in brackets" in markdown
    assert "bootstrap interval over seeds" not in markdown


def test_write_report_says_each_figure_once_as_it_is_drawn(baselines, tmp_path):
    lines: list[str] = []
    report.write_report(baselines, tmp_path, "Baselines", "", progress=lines.append)
    said = sorted(line.removeprefix("figure ") for line in lines if line.startswith("figure "))
    assert said == sorted(path.name for path in tmp_path.glob("*.png"))
    assert lines[0] == "tables" and lines[-1] == "report.html"


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


def test_your_policy_compared_with_a_rule_of_no_profile_is_in_every_budget_table(baselines):
    yours = AgentGroup("momentum", "equal_weight", ["olmar"], own=True)  # olmar poses as your policy
    section = report.budget_section(replace(baselines, groups=[yours]))
    (moderate,) = [block for block in section.blocks if isinstance(block, pd.DataFrame)]  # one profile
    assert "momentum" in moderate.index


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
