"""Training writes complete run folders that reload, resume and show in TensorBoard."""

import json

import numpy as np
import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cryptofolio.agents.learners import BUILT_IN, learner
from cryptofolio.agents.sb3 import load_policy, read_run_config, run_env
from cryptofolio.envs import MarketConfig, PortfolioEnv, SplitDates, synthetic_market
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

ALGOS = tuple(entry.name for entry in BUILT_IN)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run per algorithm, shared by the tests that only read its folder."""
    from cryptofolio.training.config import resolve_config
    from tests.helpers import tiny_overrides

    runs = {}
    for algo in ALGOS:
        config = resolve_config(algo, overrides=tiny_overrides(algo), n_timesteps=300)
        run = RunFolder.create(tmp_path_factory.mktemp(algo), config)
        runs[algo] = train(config, run)
    return runs


@pytest.mark.parametrize("algo", ALGOS)
def test_each_algo_writes_a_complete_run_folder(trained, algo):
    outcome = trained[algo]
    folder = outcome.run.path
    assert outcome.timesteps >= 300 and outcome.stopped_by is None
    for name in ("config.yaml", "metadata.json", "progress.csv", "evaluations.csv"):
        assert (folder / name).stat().st_size > 0, name
    assert list(folder.glob("events.out.tfevents.*"))
    model = "model.npz" if learner(algo).trains_on == "portfolio_env" else "model.zip"
    normalized = read_run_config(folder)["normalize"]  # eiie standardizes inside its network
    plain_own = {"pool.json"} if algo == "eiie" else set()  # the pool it trained on
    plain = {model, "spaces.json", "state.json", "manifest.json"} | (
        {"normalization.json"} if normalized else set()
    )
    for snapshot in ("best", "final", "checkpoint"):
        names = {p.name for p in (folder / snapshot).iterdir()}
        assert names - {"replay_buffer.npz", "optimizer.npz"} == plain | plain_own, snapshot
    assert (folder / "checkpoint" / "replay_buffer.npz").is_file() == learner(algo).replay_buffer
    assert (folder / "checkpoint" / "optimizer.npz").is_file() == (learner(algo).trains_on == "portfolio_env")
    for snapshot in ("best", "final"):  # only a checkpoint resumes
        assert not {"replay_buffer.npz", "optimizer.npz"} & {p.name for p in (folder / snapshot).iterdir()}
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["status"] == "complete" and metadata["timesteps"] == outcome.timesteps
    assert metadata["splits"]["validation"]["used_for"] == "model selection"
    assert metadata["splits"]["test"]["used_for"] == "not used by training"
    assert metadata["market_fingerprint"] == synthetic_market(seed=0).fingerprint()
    assert set(metadata["versions"]) >= {"python", "torch", "stable-baselines3", "git_commit"}
    evaluations = pd.read_csv(folder / "evaluations.csv")
    assert evaluations["timesteps"].iloc[0] == 0 and evaluations["timesteps"].iloc[-1] == outcome.timesteps


@pytest.mark.parametrize("algo", ALGOS)
def test_a_reloaded_model_acts_exactly_as_the_trained_one(trained, algo):
    outcome = trained[algo]
    env = run_env(outcome.run.path, synthetic_market(seed=0), split="validation")
    policy = load_policy(outcome.run.path, which="final", env=env)
    normalizer = outcome.model.get_vec_normalize_env()
    rng = np.random.default_rng(0)
    observations = []
    obs, _ = env.reset(seed=1)
    for _ in range(20):
        observations.append(obs)
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
    for obs in observations:
        inputs = obs if normalizer is None else normalizer.normalize_obs(obs)
        expected, _ = outcome.model.predict(inputs, deterministic=True)
        actual, _ = policy.predict(obs, deterministic=True)
        np.testing.assert_array_equal(actual, expected)


def test_the_best_model_is_the_best_on_validation(trained):
    folder = trained["ppo"].run.path
    evaluations = pd.read_csv(folder / "evaluations.csv")
    state = json.loads((folder / "best" / "state.json").read_text())
    assert state["metric"] == "sharpe" and state["score"] == pytest.approx(evaluations["sharpe"].max())
    assert state["timesteps"] == evaluations.loc[evaluations["sharpe"].idxmax(), "timesteps"]


def test_tensorboard_shows_portfolio_and_eval_metrics(trained):
    events = EventAccumulator(str(trained["ppo"].run.path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    portfolio = {"log_return", "sharpe", "max_drawdown", "turnover", "fees", "cash_weight", "concentration"}
    assert {f"portfolio/{t}" for t in portfolio | {"action_saturation"}} <= tags
    assert {"eval/sharpe", "eval/max_drawdown", "eval/excess_sharpe", "rollout/ep_rew_mean"} <= tags
    assert {f"risk/{t}" for t in ("max_drawdown", "budget_kept", "cushion", "exposure")} <= tags
    assert {f"collapse/{t}" for t in ("distance_to_rule", "distance_to_equal_weight", "turnover")} <= tags
    events_file = next(trained["ppo"].run.path.glob("events.out.tfevents.*")).read_bytes()
    assert b"_hparams_/session_start_info" in events_file and b"learning_rate" in events_file


def test_a_validation_path_held_in_cash_keeps_the_untrained_model(tmp_path):
    from cryptofolio.training.config import resolve_config
    from tests.helpers import tiny_overrides

    # anchored on cash, the agent can only hold cash: every validation Sharpe ratio is undefined
    config = resolve_config(
        "ppo", overrides=[*tiny_overrides("ppo"), "env.actions.anchor=cash"], n_timesteps=200
    )
    outcome = train(config, RunFolder.create(tmp_path, config))
    state = json.loads((outcome.run.path / "best" / "state.json").read_text())
    assert state["timesteps"] == 0 and np.isnan(state["score"])


def test_loading_into_an_env_with_other_spaces_fails_clearly(trained):
    env = PortfolioEnv(synthetic_market(seed=0), window=10)
    with pytest.raises(
        ValueError, match=r"trained with observations of shape \(70,\), but the env's are \(130,\)"
    ):
        load_policy(trained["ppo"].run.path, env=env)


@pytest.mark.parametrize("algo", ["ppo", "sac", "direct", "eiie"])
def test_resume_continues_the_timestep_count(tiny_config, tmp_path, algo):
    config = tiny_config(algo, n_timesteps=200)
    run = RunFolder.create(tmp_path, config)
    first = train(config, run)
    first_rows = pd.read_csv(run.path / "progress.csv")["time/total_timesteps"]
    more = tiny_config(algo, n_timesteps=first.timesteps + 200)
    run.write_config(more)
    second = train(more, run, resume=True)
    assert second.timesteps >= first.timesteps + 200
    steps = pd.read_csv(run.path / "progress.csv")["time/total_timesteps"]
    pd.testing.assert_series_equal(
        steps.iloc[: len(first_rows)], first_rows
    )  # the first session's rows are kept
    assert steps.iloc[-1] == second.timesteps
    evaluations = pd.read_csv(run.path / "evaluations.csv")
    assert (
        evaluations["timesteps"].is_monotonic_increasing
        and evaluations["timesteps"].iloc[-1] == second.timesteps
    )


def test_subprocess_envs_train_too(tiny_config, tmp_path):
    config = tiny_config("ppo", n_timesteps=128, overrides=("vec_env=subproc",))
    outcome = train(config, RunFolder.create(tmp_path, config))
    assert outcome.timesteps >= 128


def test_training_on_real_daily_data(tiny_config, tmp_path, shared_data):
    splits = SplitDates(
        train=("2020-10-15", "2022-12-31"),
        validation=("2023-01-01", "2023-12-31"),
        test=("2024-01-01", "2024-06-30"),
    )
    assets = ("BTC", "ETH", "SOL", "AVAX", "ATOM", "LINK", "AAVE", "ARB", "GRT")
    market = MarketConfig(source=str(shared_data / "binance-daily"), assets=assets, splits=splits)
    config = tiny_config("ppo", n_timesteps=200, market=market)
    outcome = train(config, RunFolder.create(tmp_path, config))
    metadata = json.loads((outcome.run.path / "metadata.json").read_text())
    assert metadata["splits"]["validation"]["dates"] == [
        "2023-01-01T00:00:00+00:00",
        "2023-12-31T00:00:00+00:00",
    ]
    assert metadata["symbols"][0] == "USDT" and "ARB" in metadata["symbols"]


def test_training_on_a_bootstrap_of_the_train_split(tmp_path, tiny_config):
    config = tiny_config("ppo", overrides=("bootstrap_block=20", "bootstrap_bars=600"))
    outcome = train(config, RunFolder.create(tmp_path, config))
    evaluations = pd.read_csv(outcome.run.path / "evaluations.csv")
    assert outcome.timesteps >= 300 and len(evaluations) >= 2  # selected on the real validation split


def test_the_drawdown_multiplier_moves_by_dual_ascent():
    from cryptofolio.training.callbacks import next_multiplier

    # mean episode max drawdown 0.4 against a tolerance of 0.35: up by 1.0 * 0.05 / 0.35
    assert next_multiplier(0.5, 1.0, [0.5, 0.3], 0.35) == pytest.approx(0.5 + 0.05 / 0.35, abs=1e-15)
    assert next_multiplier(0.5, 1.0, [0.35], 0.35) == 0.5
    assert next_multiplier(0.1, 2.0, [0.0], 0.35) == 0.0  # never below 0


@pytest.mark.parametrize("algo", ["ppo", "direct"])
def test_a_budget_rate_trains_against_the_budget_and_resumes_with_its_multiplier(tiny_config, tmp_path, algo):
    # a tolerance of 1%: every training episode breaks it, so the multiplier must rise
    budget = ["env.reward.budget_rate=1.0", "env.reward.drawdown_tolerance=0.01"]
    config = tiny_config(algo, n_timesteps=300, overrides=tuple(budget))
    run = RunFolder.create(tmp_path, config)
    train(config, run)
    events = EventAccumulator(str(run.path))
    events.Reload()
    multipliers = [event.value for event in events.Scalars("risk/multiplier")]
    assert multipliers[-1] > 0.5 and {"risk/train_max_drawdown"} <= set(events.Tags()["scalars"])
    saved = json.loads((run.path / "checkpoint" / "state.json").read_text())["drawdown_penalty"]
    assert saved == pytest.approx(multipliers[-1])
    more = tiny_config(algo, n_timesteps=600, overrides=tuple(budget))
    run.write_config(more)
    train(more, run, resume=True)
    events.Reload()
    resumed = [event.value for event in events.Scalars("risk/multiplier")][len(multipliers)]
    assert resumed > saved  # continued from the checkpoint's multiplier, not from the config's 0.5


def test_the_untrained_model_is_near_its_rule_and_far_from_equal_weights(trained):
    evaluations = EventAccumulator(str(trained["direct"].run.path))
    evaluations.Reload()
    rule, equal = (
        evaluations.Scalars(f"collapse/{key}")[0] for key in ("distance_to_rule", "distance_to_equal_weight")
    )
    # the zero action is the profile's allocation at a fixed band (the rule's widens in high volatility)
    assert rule.step == 0 and 0 <= rule.value < 0.1 < equal.value
