"""The walk-forward study: its folds, its queue of work units shared by workers, and a tiny run end to end."""

import dataclasses
import itertools
import json
import re

import optuna
import pytest

from cryptofolio.cli import main
from cryptofolio.envs import MarketConfig, load_csv_dir
from cryptofolio.envs.profiles import profile_assets
from cryptofolio.training import engine
from cryptofolio.training.budgets import study_budgets
from cryptofolio.training.engine import unit_states, work
from cryptofolio.training.folds import calendar_folds
from cryptofolio.training.study import StudyPlan, open_units, study_name


def test_the_default_span_is_six_half_years_each_selected_on_the_one_before():
    folds = calendar_folds(("2021-07-01", "2024-06-30"), "2017-08-17")
    assert len(folds) == 6
    first, last = folds[0].dates, folds[-1].dates
    assert first.train == ("2017-08-17", "2020-12-31")
    assert first.validation == ("2021-01-01", "2021-06-30") and first.test == ("2021-07-01", "2021-12-31")
    assert last.validation == ("2023-07-01", "2023-12-31") and last.test == ("2024-01-01", "2024-06-30")
    for before, after in itertools.pairwise(folds):  # expanding: each trains up to its validation
        assert after.dates.train[0] == "2017-08-17" and after.dates.validation[0] == before.dates.test[0]


@pytest.mark.parametrize(
    ("span", "message"),
    [
        (("2021-07-01", "2024-05-31"), "not a whole number of 6-month test windows"),
        (("2018-01-01", "2018-12-31"), "would train on less than 6 months"),
    ],
)
def test_a_span_that_does_not_fit_is_refused(span, message):
    with pytest.raises(ValueError, match=message):
        calendar_folds(span, "2017-08-17")


def plan(seeds=(0, 1), quick=True, budgets=None):
    folds = tuple(calendar_folds(("2023-07-01", "2024-06-30"), "2017-08-17"))
    return StudyPlan(
        MarketConfig(),
        ("BTC", "ETH"),
        "2017-08-17",
        ("moderate",),
        ("ppo",),
        seeds,
        folds,
        budgets or tuple(study_budgets().items()),
        quick=quick,
    )


@pytest.fixture
def storage(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return f"sqlite:///{tmp_path / 'optuna.db'}"


def test_every_unit_is_queued_once_however_often_the_study_is_opened(storage):
    open_units("s", storage, plan())
    study = open_units("s", storage, plan())
    assert unit_states(study) == {"complete": 0, "running": 0, "waiting": 4, "failed": 0}


def test_a_study_refuses_another_plan(storage):
    open_units("s", storage, plan())
    with pytest.raises(ValueError, match="study s holds another plan"):
        open_units("s", storage, plan(seeds=(0, 1, 2)))


def test_the_study_trains_with_its_budgets_and_refuses_to_mix_others(storage):
    default, longer = plan(quick=False), plan(quick=False, budgets=(("ppo", 200_000),))
    assert default.timesteps() == {"ppo": study_budgets()["ppo"]} and longer.timesteps() == {"ppo": 200_000}
    assert study_name(longer) == study_name(default) + "-ppo200000"
    open_units("s", storage, default)
    with pytest.raises(ValueError, match="study s trains with other budgets"):
        open_units("s", storage, longer)


def test_workers_sharing_a_study_train_each_unit_once(storage, tmp_path, monkeypatch):
    trained = []
    monkeypatch.setattr(engine, "ensure_trained", lambda unit, *args: trained.append(unit.key))
    study = open_units("s", storage, plan())
    study.enqueue_trial({"unit": 0})  # two workers that started at once both queued unit 0
    assert work(study, plan().units, tmp_path) == 5  # four units and the duplicate, found surplus
    units = plan().units
    assert work(optuna.load_study(study_name="s", storage=storage), units, tmp_path) == 0  # nothing left
    assert sorted(trained) == sorted(u.key for u in plan().units)
    assert unit_states(study) == {"complete": 4, "running": 0, "waiting": 0, "failed": 0}


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # ask() stands for a worker that failed
def test_a_failed_unit_is_queued_again_when_the_study_is_opened(storage):
    study = open_units("s", storage, plan())
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)  # pops unit 0, which fails
    assert unit_states(study) == {"complete": 0, "running": 0, "waiting": 3, "failed": 1}
    assert unit_states(open_units("s", storage, plan())) == {
        "complete": 0,
        "running": 0,
        "waiting": 4,
        "failed": 0,
    }


@pytest.mark.slow  # several processes
def test_the_tiny_study_runs_end_to_end_on_two_workers_and_resumes_without_training(
    shared_data, tmp_path, capsys
):
    args = [
        "study", "--market", str(shared_data / "binance-daily"), "--quick", "--workers", "2",
        "--storage", f"sqlite:///{tmp_path / 'optuna.db'}", "--root", str(tmp_path / "runs"),
        "--out", str(tmp_path / "out"), "--publish", str(tmp_path / "docs"), "--no-progress-bar",
    ]  # fmt: skip
    assert main(args) == 0
    text = (tmp_path / "docs" / "results.md").read_text()
    assert text.startswith("# Results on real crypto prices: walk-forward")
    for section in (
        "## Verdicts",
        "## Across profiles and folds (rliable-style)",
        "## Overfitting",
        "## Moderate",
    ):
        assert section in text
    assert "ppo cannot be told apart from" in text or "ppo beats" in text or "ppo trails" in text
    assert "the best rule over the chained test windows was" in text and "reference" not in text
    assert re.search(r"Units whose validation kept the untrained policy \(.*\): ppo \d of 4\.", text)
    assert (tmp_path / "docs" / "results" / "performance-profile.png").is_file()
    assert (tmp_path / "docs" / "results" / "moderate-equity.png").is_file()
    runs = sorted(p.name for p in (tmp_path / "runs" / "moderate").glob("fold*/*"))
    assert runs == ["ppo-s0", "ppo-s0", "ppo-s1", "ppo-s1"]
    assert main(args) == 0  # started again: every unit is complete, nothing trains
    record = json.loads((tmp_path / "runs" / "study.json").read_text())
    assert len(record["commands"]) == 2 and record["workers"] == 2


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--test-span", "2021"], "--test-span '2021': give START:END"),
        (["--test-span", "2021-07-01:2021-08-31"], "not a whole number of 6-month test windows"),
        (["--algos", "ppo,dqn"], "--algos 'ppo,dqn': expected names among ppo, sac"),
        (["--profiles", "reckless"], "--profiles 'reckless': expected names among conservative"),
        (["--seeds", "x"], "seeds"),
        (["--timesteps", "ppo=lots"], "--timesteps 'ppo=lots': expected learner=steps pairs"),
        (["--timesteps", "dqn=5"], "among ppo, sac"),
        (["--timesteps", "ppo=5,ppo=6"], "each learner once"),
    ],
)
def test_bad_options_are_one_line_and_exit_code_2(shared_data, capsys, option, message):
    assert main(["study", "--market", str(shared_data / "binance-daily"), *option]) == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1


def test_a_test_span_past_the_data_is_one_line_before_any_worker_starts(capsys, tmp_path):
    args = ["study", "--market", "synthetic", "--test-span", "2024-01-01:2025-06-30", "--quick"]
    assert main([*args, "--storage", f"sqlite:///{tmp_path / 'optuna.db'}", "--root", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith(
        "--test-span 2024-01-01:2025-06-30: ends after the data's last day, 2024-12-29 (synthetic)"
    )
    assert len(error.splitlines()) == 1 and not (tmp_path / "optuna.db").exists()


def test_the_quick_study_on_the_synthetic_market_reports_the_reference_and_the_budget_first(tmp_path):
    args = [
        "study", "--market", "synthetic", "--quick", "--seeds", "0", "--workers", "1",
        "--algos", "ppo,ppo_budget,hedge",
        "--storage", f"sqlite:///{tmp_path / 'optuna.db'}", "--root", str(tmp_path / "runs"),
        "--out", str(tmp_path / "out"), "--no-progress-bar",
    ]  # fmt: skip
    assert main(args) == 0
    text = (tmp_path / "out" / "results.md").read_text()
    assert "## Learners against the rules, per profile" in text
    chosen = r"\*\*Moderate\*\* \(rules chosen on validation, fold by fold: [\w+.]+, [\w+.]+\):"
    assert re.search(chosen, text)
    assert re.search(r"(no learner|[\w, ]+) beat the moderate rule", text)
    verbs = "(beats|trails|cannot be told apart from)"
    assert re.search(rf"hedge {verbs} the moderate_hedge_choose_eta_true rule", text)
    assert "distance_to_rule" in text and "rule_chosen_on_validation" in text
    assert text.startswith("# Results on the synthetic market: walk-forward\n\nCommands: `")
    assert "The known-parameter reference, which knows the true regime" in text
    assert text.index("## Risk budgets") < text.index("## Across profiles and folds")
    assert re.search(r"The moderate budget \(max drawdown 35%, volatility 50%\) was kept by", text)
    assert re.search(r"(A rule kept|No rule kept|Rules kept) the moderate", text)
    assert re.search(r"ppo_budget, anchored on moderate\+voltarget\+ddbrake, (kept|broke) the budget", text)
    verbs = "(beats|trails|cannot be told apart from)"
    assert re.search(rf"ppo_budget {verbs} the moderate\+voltarget\+ddbrake rule", text)
    assert re.search(rf"ppo {verbs} the moderate rule", text)


def test_each_profile_trades_its_own_assets(shared_data):
    market = load_csv_dir(shared_data / "binance-daily")
    assert profile_assets("conservative", market.symbols[1:]) == ("BTC", "ETH", "SOL", "LINK", "UNI")
    assert profile_assets("aggressive", market.symbols[1:])[-1] == "MKR"  # the "other DeFi" weight


def test_the_studys_market_options_reach_every_units_market():
    from cryptofolio.commands.study import build_parser, make_plan

    options = ["--market", "synthetic", "--quick", "--ffill-limit", "3", "--cash", "USDT"]
    plan = make_plan(build_parser("cryptofolio study").parse_args(options))
    assert {(unit.market.ffill_limit, unit.market.cash) for unit in plan.units} == {(3, "USDT")}


def test_a_study_refuses_units_of_another_market_naming_both(storage):
    open_units("s", storage, plan())
    other = dataclasses.replace(plan(), source=MarketConfig(seed=7))  # the same names, other prices
    with pytest.raises(
        ValueError, match=r"study s was trained on other market data \(synthetic, fingerprint"
    ):
        open_units("s", storage, other)
    assert study_name(plan()).startswith("study-synthetic-")
