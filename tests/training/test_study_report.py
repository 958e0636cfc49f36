"""The results study's report: chained out-of-sample paths, and the reference on the synthetic market."""

import numpy as np

from cryptofolio.envs import calibrated_model
from cryptofolio.evaluation.evaluate import evaluate
from cryptofolio.evaluation.statistics import returns_of
from cryptofolio.training.folds import chains
from cryptofolio.training.study import StudyPlan


def synthetic_plan():
    return StudyPlan.on_market("synthetic", ["conservative"], [], [0], ("2023-07-01", "2024-06-30"))


def test_the_synthetic_market_offers_every_calibrated_asset_to_the_profiles():
    plan = synthetic_plan()
    assert plan.symbols == calibrated_model().assets and plan.first_day == "2019-01-01"


def test_chained_paths_join_the_folds_test_returns_and_include_the_reference_on_synthetic_data():
    plan = synthetic_plan()
    evaluations = []
    for fold in plan.folds:
        market, splits = plan.profile_market("conservative", fold.dates).load()
        evaluations.append(evaluate([], ["conservative"], market, splits, "test"))
    paths = chains(evaluations)
    assert set(paths) == {"conservative", "reference"}
    for policy, (path,) in paths.items():
        folds = [returns_of(e.results[policy].values) for e in evaluations]
        np.testing.assert_allclose(returns_of(path), np.concatenate(folds), rtol=1e-12)
        assert path[0] == 1.0 and len(path) == 1 + 184 + 182  # 2023 H2 and 2024 H1, daily


def test_a_fold_held_in_cash_scores_a_sharpe_ratio_of_zero_and_nothing_else_is_filled():
    from types import SimpleNamespace

    import pandas as pd

    from cryptofolio.training.study_report import fold_sharpe

    table = pd.DataFrame(
        {"sharpe": [np.nan, 1.2, np.nan], "volatility": [0.0, 0.3, 0.2]},
        index=["cash-held", "rule", "broken"],
    )
    sharpe = fold_sharpe(SimpleNamespace(metrics=table))
    assert sharpe["cash-held"] == 0.0 and sharpe["rule"] == 1.2 and np.isnan(sharpe["broken"])


def test_the_rule_chosen_on_validation_is_the_best_validation_sharpe_and_chains_by_its_name():
    from cryptofolio.training.folds import chained
    from cryptofolio.training.study_report import chosen_rule, fold_sharpe

    plan = synthetic_plan()
    rules = ["conservative", "btc_only", "cash", "conservative_hedge:eta=0.5"]
    tests, chosen = [], []
    for fold in plan.folds:
        market, splits = plan.profile_market("conservative", fold.dates).load()
        validation = evaluate([], rules, market, splits, "validation")
        sharpe = fold_sharpe(validation)
        chosen.append(chosen_rule(validation))
        assert validation.rules[-1] == "conservative_hedge_eta_0.5"  # a spec with options, by its name
        assert chosen[-1] == sharpe.loc[validation.rules].idxmax() and chosen[-1] != "reference"
        tests.append(evaluate([], rules, market, splits, "test"))
    path = chained(tests, chosen)
    first = tests[0].results[chosen[0]].values
    np.testing.assert_allclose(path[: len(first)], first / first[0], rtol=1e-12)
