"""`cryptofolio evaluate`: honest splits, grouped statistics, comparisons and a complete report."""

import re
import shutil

import numpy as np
import pytest

from cryptofolio.agents import make_baseline
from cryptofolio.agents.ensemble import EnsemblePolicy
from cryptofolio.agents.sb3 import load_policy, run_env
from cryptofolio.cli import main
from cryptofolio.envs import Costs, PortfolioEnv, RunFolderError
from cryptofolio.evaluation.backtest import run_backtest
from cryptofolio.evaluation.evaluate import evaluate, find_runs
from cryptofolio.evaluation.report import write_report
from cryptofolio.evaluation.statistics import deflated_sharpe_ratio, per_bar_sharpe, returns_of
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train
from tests.helpers import tiny_overrides

SECTIONS = (
    *(
        "Summary",
        "Claims tested",
        "Metrics per policy",
        "Agents against their baselines",
        "Equity and drawdowns",
        "Monthly returns",
        "Worst drawdowns and tail risk",
    ),
    *("Weights over time", "Rolling Sharpe", "Turnover and fees", "Diversification", "How this was made"),
)
FIGURES = (
    "excess.png",
    "equity.png",
    "drawdowns.png",
    "weights.png",
    "rolling_sharpe.png",
    "turnover_fees.png",
    "correlation.png",
)


@pytest.fixture(scope="module")
def runs(tiny_runs):
    """Two seeds of a tiny PPO for the moderate profile on the default synthetic market."""
    return find_runs([str(run) for run in tiny_runs])


@pytest.fixture(scope="module")
def evaluation(runs, default_market):
    market, splits = default_market
    return evaluate(runs, ["equal_weight", "btc_only", "cash"], market, splits, "test", resamples=400)


@pytest.mark.parametrize(("split", "use"), [("validation", "model selection"), ("train", "training")])
def test_a_split_used_for_choices_is_refused(runs, split, use, default_market):
    market, splits = default_market
    with pytest.raises(ValueError, match=rf"used .* for {use}; the {split} split .* overlaps it"):
        evaluate(runs, ["cash"], market, splits, split)


def test_runs_are_grouped_and_compared_with_their_profile_baseline(evaluation, runs):
    (group,) = evaluation.groups
    assert group.name == "ppo-moderate" and sorted(group.runs) == sorted(r.name for r in runs)
    assert "moderate" in evaluation.results and "moderate" in evaluation.baselines  # added for the comparison
    assert evaluation.reference == "reference"  # a synthetic market has a known-parameter reference
    row = evaluation.comparisons.loc["ppo-moderate"]
    assert row["baseline"] == "moderate"
    for key in ("sharpe_difference", "cagr_difference", "max_drawdown_difference", "drawdown_reduction"):
        assert row[f"{key}_low"] <= row[key] <= row[f"{key}_high"]
    assert 0 < row["share_of_reference_growth"]
    summary = evaluation.group_summary.loc["ppo-moderate"]
    assert summary["seeds"] == 2 and summary["sharpe_low"] <= summary["sharpe"] <= summary["sharpe_high"]
    sharpes = evaluation.metrics.loc[group.runs, "sharpe"]
    assert summary["sharpe_std"] == pytest.approx(sharpes.std(ddof=1))
    assert evaluation.metrics.loc[group.runs, "sharpe"].mean() == pytest.approx(summary["sharpe"])
    assert set(evaluation.selection.columns) >= {"trained_steps", "selected_at_step", "validation_sharpe"}


def test_every_policy_runs_on_the_same_bars(evaluation):
    stamps = [r.timestamps for r in evaluation.results.values()]
    assert all(s.equals(stamps[0]) for s in stamps)


def test_psr_and_dsr_are_probabilities_and_dsr_is_lower(evaluation):
    table = evaluation.metrics.drop(index="cash")
    assert table["psr"].between(0, 1).all() and (table["dsr"] <= table["psr"] + 1e-12).all()


def test_the_dsr_counts_the_agent_runs_as_trials_not_the_rules_or_the_reference(evaluation, runs):
    trials = [per_bar_sharpe(returns_of(evaluation.results[r.name].values)) for r in runs]
    rule = returns_of(evaluation.results["moderate"].values)
    assert evaluation.metrics.loc["moderate", "dsr"] == pytest.approx(
        deflated_sharpe_ratio(rule, np.array(trials))
    )


def test_the_claims_are_stated_with_numbers(evaluation):
    text = " ".join(evaluation.claims)
    assert "Does ppo-moderate (2 seeds) beat the moderate baseline after fees on the test split?" in text
    assert "30%-40% smaller drawdowns" in text and re.search(r"95% interval -?\d+% to -?\d+%", text)


def test_the_report_has_every_section_and_inline_images(evaluation, tmp_path):
    report = write_report(evaluation, tmp_path, "Tiny evaluation", "cryptofolio evaluate ...")
    markdown = (tmp_path / "report.md").read_text()
    html = report.read_text()
    for title in SECTIONS:
        assert f"## {title}" in markdown and f"<h2>{title}</h2>" in html
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 1000 and f"]({name})" in markdown
    assert html.count('src="data:image/png;base64,') == len(FIGURES)
    assert not re.search(r'src="(?!data:)', html)  # nothing to fetch: the page opens offline
    for table in ("metrics.csv", "selection.csv", "groups.csv", "comparisons.csv", "diversification.csv"):
        assert (tmp_path / table).is_file()


def test_evaluate_from_the_command_line(runs, tmp_path, capsys):
    pattern = str(runs[0].parent / "*")
    assert (
        main(
            [
                "evaluate",
                "--runs",
                pattern,
                "--baselines",
                "cash",
                "--resamples",
                "400",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Does ppo-moderate" in out and f"report: {tmp_path / 'report.html'}" in out
    assert main(["evaluate", "--runs", pattern, "--split", "validation", "--out", str(tmp_path)]) == 2
    assert "for model selection" in capsys.readouterr().err


def test_market_options_apply_over_the_runs_own_market(runs, tmp_path, capsys):
    args = [
        "evaluate",
        "--runs",
        str(runs[0]),
        "--baselines",
        "cash",
        "--resamples",
        "400",
        "--out",
        str(tmp_path),
    ]
    assert main([*args, "--market-seed", "3"]) == 0  # other prices of its assets: evaluated, and said
    assert "is not the data run" in capsys.readouterr().out
    assert main([*args, "--assets", "BTC,ETH"]) == 2  # were ignored before: the run's market was used whole
    assert "same assets in the same order" in capsys.readouterr().err


def test_baselines_alone_can_be_evaluated(tmp_path, default_market):
    market, splits = default_market
    evaluation = evaluate([], ["moderate", "cash"], market, splits, "test", resamples=400)
    assert evaluation.groups == [] and set(evaluation.results) == {"moderate", "cash", "reference"}
    write_report(evaluation, tmp_path, "Baselines", "")
    assert np.isfinite(evaluation.metrics.loc["moderate", "sharpe"])


def test_a_missing_run_folder_is_named(tmp_path):
    with pytest.raises(ValueError, match="no run folder"):
        find_runs([str(tmp_path / "nothing-*")])


@pytest.fixture(scope="module")
def slippage_run(tmp_path_factory):
    """A tiny PPO trained paying 0.2% slippage on top of the fee."""
    config = resolve_config(
        "ppo", overrides=[*tiny_overrides("ppo"), "env.costs.slippage=0.002"], n_timesteps=100
    )
    run = RunFolder.create(tmp_path_factory.mktemp("slippage"), config)
    train(config, run)
    return run.path


def test_baselines_pay_the_costs_the_runs_trained_with(slippage_run, default_market):
    market, splits = default_market
    evaluation = evaluate([slippage_run], ["equal_weight"], market, splits, "test", resamples=400)
    assert evaluation.costs == Costs(fee=0.001, slippage=0.002)
    for name in (slippage_run.name, "equal_weight", "moderate", "reference"):
        assert evaluation.results[name].meta["slippage"] == 0.002, name
    expected = run_backtest(
        make_baseline("moderate"), PortfolioEnv(market, split="test", splits=splits, slippage=0.002)
    )
    np.testing.assert_array_equal(evaluation.results["moderate"].values, expected.values)
    assert evaluation.results["moderate"].fees.sum() > 0 and evaluation.metrics.loc["moderate", "fees"] > 0


def test_one_comparison_has_one_set_of_costs(runs, slippage_run, tmp_path, capsys, default_market):
    market, splits = default_market
    with pytest.raises(ValueError, match="the runs were trained at different costs"):
        evaluate([*runs, slippage_run], ["cash"], market, splits, "test")
    chosen = Costs(fee=0.002, slippage=0.0005)
    evaluation = evaluate(
        [*runs, slippage_run], ["cash"], market, splits, "test", costs=chosen, resamples=400
    )
    assert {result.meta["slippage"] for result in evaluation.results.values()} == {0.0005}
    assert {result.meta["fee"] for result in evaluation.results.values()} == {0.002}
    args = ["evaluate", "--runs", str(slippage_run), "--baselines", "cash", "--resamples", "400"]
    assert main([*args, "--fee", "0.003", "--out", str(tmp_path)]) == 0
    assert "at a fee of 0.30% plus slippage of 0.20% per unit traded" in (tmp_path / "report.md").read_text()


def trained_members(runs, market, splits):
    """Each run's final model (trained, unlike a tiny run's best) and its own env on the test split."""
    envs = [run_env(run, market, split="test", splits=splits) for run in runs]
    return [load_policy(run, which="final", env=env) for run, env in zip(runs, envs, strict=True)], envs


def test_an_ensemble_of_one_run_twice_trades_as_the_run_alone(runs, default_market):
    market, splits = default_market
    (policy, _), (env, _) = trained_members(runs, market, splits)
    free = PortfolioEnv(market, split="test", splits=splits, config=env.config.for_rules())
    alone = run_backtest(policy, env)
    twice = run_backtest(EnsemblePolicy([policy, policy], [env, env], free), free)
    assert alone.turnover.sum() > 0  # the run trades: the comparison says something
    np.testing.assert_allclose(twice.values, alone.values, rtol=1e-12)
    np.testing.assert_allclose(twice.weights_after, alone.weights_after, atol=1e-12)


def test_the_ensemble_trades_to_the_mean_of_its_seeds_weights(runs, default_market):
    market, splits = default_market
    policies, envs = trained_members(runs, market, splits)
    free = PortfolioEnv(market, split="test", splits=splits, config=envs[0].config.for_rules())
    ensemble = EnsemblePolicy(policies, envs, free)
    obs, _ = free.reset(options={"start": free.first_start, "to_end": True})
    state = None
    differ = 0
    for _ in range(30):
        members, _ = ensemble.member_weights(obs, free.bar, free.drifted_weights, [None, None], False)
        differ += not np.allclose(members[0], members[1])
        action, state = ensemble.predict(obs, state)
        obs, _, _, _, info = free.step(action)
        np.testing.assert_allclose(info["weights"], members.mean(axis=0), atol=1e-12)
    assert differ > 0  # the seeds disagree somewhere, so the mean is not one of them


def test_an_ensemble_needs_an_env_with_free_actions(runs, default_market):
    market, splits = default_market
    policies, envs = trained_members(runs, market, splits)
    with pytest.raises(ValueError, match="free actions"):
        EnsemblePolicy(policies, envs, envs[0])


def test_evaluate_reports_each_groups_ensemble_beside_its_seeds(runs, default_market):
    market, splits = default_market
    together = evaluate(runs, ["cash"], market, splits, "test", resamples=400, ensemble=True)
    ensemble = together.groups[-1]
    assert (ensemble.name, ensemble.ensemble_of, ensemble.runs) == (
        "ppo-moderate-ensemble",
        2,
        ["ppo-moderate-ensemble"],
    )
    assert "ppo-moderate-ensemble" in together.metrics.index
    assert "ppo-moderate-ensemble" in together.comparisons.index
    assert any("ppo-moderate-ensemble (an ensemble of 2 seeds)" in claim for claim in together.claims)
    assert together.group_summary.loc["ppo-moderate-ensemble", "seeds"] == 2  # the seeds it averages


def test_runs_of_the_same_folder_name_are_told_apart_and_a_run_given_twice_is_refused(
    runs, default_market, tmp_path
):
    market, splits = default_market
    copies = [tmp_path / parent / runs[0].name for parent in ("a", "b")]
    for copy in copies:
        shutil.copytree(runs[0], copy)
    evaluation = evaluate(copies, ["cash"], market, splits, "test", resamples=400)
    labels = [f"a/{runs[0].name}", f"b/{runs[0].name}"]
    assert evaluation.groups[0].runs == labels
    np.testing.assert_array_equal(evaluation.results[labels[0]].values, evaluation.results[labels[1]].values)
    (tmp_path / "link").symlink_to(copies[0])
    with pytest.raises(RunFolderError, match="are the same run folder; give it once"):
        evaluate([copies[0], tmp_path / "link"], ["cash"], market, splits, "test", resamples=400)
