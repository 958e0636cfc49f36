"""Your own policy in the report: a rule, an SB3 model with its VecNormalize, any predict; one call."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import cryptofolio.evaluation as evaluation_package
import cryptofolio.training as training_package
from cryptofolio.agents import Cash, Rule, TrainedPolicy
from cryptofolio.cli import main
from cryptofolio.envs import ConfigError, EnvConfig, PortfolioEnv, weights_to_action
from cryptofolio.evaluation import evaluate_policies, run_backtest
from tests.helpers import build_market

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))
from momentum import Momentum  # noqa: E402  (examples/ is not a package)


class CashByPredict:
    """Anything with predict: always the action of all cash."""

    def __init__(self, n_columns: int) -> None:
        weights = np.zeros(n_columns)
        weights[0] = 1.0
        self.action = weights_to_action(weights)

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        return self.action, state


def small_market():
    """400 daily bars of A rising and B listed only at bar 390 (in the test split's last bars)."""
    return build_market({"A": [1.0 + 0.001 * i for i in range(400)], "B": [np.nan] * 390 + [1.0] * 10})


class Fixed(Rule):
    """Always the same target weights, whatever they are."""

    name = "fixed"

    def __init__(self, weights):
        self.weights = weights

    def target_weights(self, view, weights, first):
        return self.weights


@pytest.fixture(scope="module")
def momentum(default_market):
    market, splits = default_market
    return evaluate_policies(
        {"momentum": Momentum()}, market=market, splits=splits, baselines=["equal_weight"], resamples=400
    )


def test_a_rule_of_your_own_runs_through_the_same_env_as_the_baselines(momentum, default_market):
    market, splits = default_market
    alone = run_backtest(Momentum(), PortfolioEnv(market, split="test", splits=splits, config=EnvConfig()))
    np.testing.assert_array_equal(momentum.results["momentum"].values, alone.values)
    assert momentum.results["momentum"].timestamps.equals(momentum.results["equal_weight"].timestamps)


def test_your_policy_is_a_group_compared_with_the_chosen_baseline(momentum):
    group = next(g for g in momentum.groups if g.name == "momentum")
    assert group.own and group.profile == "moderate" and group.runs == ["momentum"]
    assert "moderate" in momentum.results  # added to the comparison, though not among the baselines
    row = momentum.comparisons.loc["momentum"]
    assert row["baseline"] == "moderate" and np.isfinite(row["sharpe_difference"])
    assert momentum.selection.empty  # nothing was trained


def test_the_claims_say_the_project_cannot_know_what_your_policy_was_tuned_on(momentum):
    assert any(
        "momentum is your own policy" in line and "not out of sample" in line for line in momentum.claims
    )
    assert any(
        line.startswith("Does momentum (your policy) beat the moderate baseline") for line in momentum.claims
    )


def test_any_object_with_predict_is_a_policy(default_market):
    market, splits = default_market
    n = len(market.symbols)
    evaluation = evaluate_policies(
        {"mine": CashByPredict(n)}, market=market, splits=splits, baselines=["cash"], resamples=400
    )
    np.testing.assert_allclose(
        evaluation.results["mine"].values, evaluation.results["cash"].values, rtol=1e-12
    )


def test_an_sb3_model_with_its_vecnormalize_acts_on_normalized_observations(default_market, tmp_path):
    market, splits = default_market
    venv = VecNormalize(DummyVecEnv([lambda: PortfolioEnv(market, split="train", splits=splits)]))
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0)
    model.learn(128)
    venv.training = False
    evaluation = evaluate_policies(
        {"ppo": TrainedPolicy(model, venv)}, market=market, splits=splits, baselines=["cash"], resamples=400
    )
    env = PortfolioEnv(market, split="test", splits=splits)
    observation, _ = env.reset(options={"start": env.first_start, "to_end": True})
    values, done = [], False
    while not done:
        action, _ = model.predict(venv.normalize_obs(observation), deterministic=True)
        observation, _, terminated, truncated, info = env.step(action)
        values.append(info["portfolio_value"])
        done = terminated or truncated
    np.testing.assert_array_equal(evaluation.results["ppo"].values[1:], values)


def test_a_model_trained_on_another_observation_is_refused_naming_both_shapes(default_market):
    market, splits = default_market
    other = PortfolioEnv(small_market())  # two assets, where the default market has more
    model = PPO("MlpPolicy", other, n_steps=64, batch_size=64, seed=0)
    expected = PortfolioEnv(market, split="test", splits=splits).observation_space.shape
    with pytest.raises(
        ConfigError,
        match=rf"policy ppo expects observations of shape \(99,\), .* gives {re.escape(str(expected))}",
    ):
        evaluate_policies({"ppo": model}, market=market, splits=splits, baselines=["cash"], resamples=400)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            Fixed(np.array([0.5, 0.2, 0.2])),
            r"policy fixed at \d{4}-\d\d-\d\d 00:00: target weights sum to 0.9",
        ),
        (Fixed(np.array([1.2, -0.2, 0.0])), r"target weights must be finite and >= 0"),
        (
            Fixed(np.array([0.5, 0.5])),
            r"target weights of shape \(2,\) .* expected 3 numbers: cash then A, B",
        ),
        (Fixed(np.array([0.5, 0.0, 0.5])), r"target weights hold B, not listed at this bar"),
        (Cash, r"policy fixed: Cash is a class; give an instance of it"),
        (object(), r"policy fixed: a object has neither predict"),
    ],
)
def test_what_the_ledger_would_have_to_reshape_is_refused_naming_policy_and_bar(policy, message):
    with pytest.raises(ConfigError, match=message):
        evaluate_policies({"fixed": policy}, market=small_market(), baselines=["cash"], resamples=400)


def test_a_weight_below_zero_by_rounding_is_none_and_trades_as_the_exact_weights():
    cash = 1.0 - sum([0.05] * 20)  # -2.2e-16: what 1 minus twenty 0.05s gives
    market = small_market()
    exact, rounded = (
        evaluate_policies({"fixed": Fixed(np.array([w, 1.0, 0.0]))}, market=market, baselines=["cash"])
        for w in (0.0, cash)
    )
    assert cash < 0
    np.testing.assert_allclose(rounded.results["fixed"].values, exact.results["fixed"].values, rtol=1e-14)


@pytest.mark.parametrize("action", [np.array([2.0, 0.0, 0.0]), np.array([np.nan, 0.0, 0.0]), np.zeros(4)])
def test_an_action_outside_the_space_is_refused_not_clipped(action):
    class Constant:
        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            return action, state

    with pytest.raises(ConfigError, match=r"policy constant at .*: action (must be finite|of shape)"):
        evaluate_policies({"constant": Constant()}, market=small_market(), baselines=["cash"], resamples=400)


def test_a_policy_named_like_a_baseline_is_refused(default_market):
    market, splits = default_market
    with pytest.raises(ConfigError, match="policy name 'cash' is already"):
        evaluate_policies({"cash": Cash()}, market=market, splits=splits, baselines=["cash"], resamples=400)


def test_one_call_writes_the_report(default_market, tmp_path):
    market, splits = default_market
    evaluate_policies(
        {"momentum": Momentum()},
        tmp_path / "report",
        market=market,
        splits=splits,
        baselines=["cash"],
        resamples=400,
    )
    text = (tmp_path / "report" / "report.md").read_text()
    assert "momentum is your own policy" in text and (tmp_path / "report" / "equity.png").is_file()


@pytest.mark.parametrize("package", [evaluation_package, training_package])
def test_the_public_names_are_what_they_say(package):
    for name in package.__all__:
        value = getattr(package, name)
        assert not isinstance(value, type(sys)), f"{package.__name__}.{name} is a module"
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_the_command_takes_a_policy_from_a_file(tmp_path, capsys):
    out = tmp_path / "eval"
    code = main(
        [
            "evaluate",
            "--policy",
            f"{EXAMPLES / 'momentum.py'}:Momentum",
            "--baselines",
            "cash",
            "--resamples",
            "400",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0 and "backtest momentum" in printed and "Does momentum (your policy) beat" in printed
    assert (out / "report.html").is_file()


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("momentum", r"--policy 'momentum': expected MODULE:ATTR or FILE.py:ATTR"),
        ("no_such_module_here:X", r"--policy no_such_module_here:X: No module named 'no_such_module_here'"),
        ("missing.py:X", r"--policy missing.py:X: missing.py is not a file"),
        ("{examples}/momentum.py:Nope", r"momentum.py has no 'Nope' \(it has: .*Momentum"),
        ("{bad}:X", r"bad.py, line 1: invalid syntax"),
        ("{needs}:Needs", r"Needs\(\) needs arguments"),
        ("a={examples}/momentum.py:Momentum", None),
    ],
)
def test_a_policy_reference_that_names_nothing_usable_is_one_line(reference, message, tmp_path, capsys):
    (tmp_path / "bad.py").write_text("def (:\n")
    (tmp_path / "needs.py").write_text("class Needs:\n    def __init__(self, x):\n        pass\n")
    reference = reference.format(examples=EXAMPLES, bad=tmp_path / "bad.py", needs=tmp_path / "needs.py")
    argv = [
        "evaluate",
        "--policy",
        reference,
        "--policy",
        reference,
        "--baselines",
        "cash",
        "--out",
        str(tmp_path),
    ]
    code = main(argv)
    error = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in error and len(error.splitlines()) == 1
    assert re.search(message or r"a policy named 'a' is given twice", error), error
