"""What the training callbacks log: training episodes' metrics, the selected model's, the HPARAMS tab."""

from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import KVWriter, Logger, TensorBoardOutputFormat
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor, VecNormalize
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import backend_context
from tensorboard.plugins.hparams import metadata as hparams_metadata

from cryptofolio.envs import PortfolioEnv, synthetic_market
from cryptofolio.envs.vector_env import BatchedPortfolioEnv
from cryptofolio.training import callbacks
from cryptofolio.training.callbacks import (
    DrawdownBudgetCallback,
    HParamsCallback,
    PortfolioMetricsCallback,
    ValidationCallback,
)
from cryptofolio.training.run_folder import RunFolder

N = 4
OPTIONS = {"window": 10, "episode_length": 15}


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=3, n_bars=400)


class Recorder(KVWriter):
    """A logger output that keeps every dump."""

    def __init__(self) -> None:
        self.dumps: list[dict[str, Any]] = []

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0) -> None:
        self.dumps.append(dict(key_values))


def start(callback: BaseCallback, venv: VecEnv | None, logger: Logger) -> SimpleNamespace:
    """``callback`` started as ``model.learn`` starts it, on a stand-in model; the stand-in."""
    model = SimpleNamespace(get_env=lambda: venv, logger=logger, num_timesteps=0)
    callback.init_callback(model)
    callback.on_training_start({}, {})
    return model


def portfolio_metrics(venv: VecEnv, market, steps: int = 60) -> dict[str, float]:
    """The ``portfolio/`` means PortfolioMetricsCallback records over ``steps`` random steps of ``venv``."""
    logger = Logger(None, [])
    callback = PortfolioMetricsCallback(1.0, market.periods_per_year, market.symbols)
    start(callback, venv, logger)
    venv.seed(5)
    venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(steps):
        actions = rng.uniform(-1, 1, size=(venv.num_envs, len(market.symbols))).astype(np.float32)
        _, _, dones, infos = venv.step(actions)
        callback.update_locals({"actions": actions, "dones": dones, "infos": infos})
        callback.on_step()
    return {k: v for k, v in logger.name_to_value.items() if k.startswith("portfolio/")}


def test_portfolio_log_return_is_the_mean_growth_of_finished_episodes(market):
    dummy = DummyVecEnv([partial(PortfolioEnv, market, **OPTIONS) for _ in range(N)])
    dummy.seed(5)
    dummy.reset()
    rng = np.random.default_rng(0)
    growth = []
    for _ in range(60):
        actions = rng.uniform(-1, 1, size=(N, len(market.symbols))).astype(np.float32)
        _, _, dones, infos = dummy.step(actions)
        growth += [np.log(infos[i]["portfolio_value"]) for i in np.flatnonzero(dones)]
    logged = portfolio_metrics(BatchedPortfolioEnv(N, market, infos="done", **OPTIONS), market)
    assert logged["portfolio/log_return"] != 0.0
    assert logged["portfolio/log_return"] == pytest.approx(np.mean(growth), abs=1e-12)


def test_portfolio_metrics_of_a_batched_env_equal_those_of_a_dummy_vec_env(market):
    batched = portfolio_metrics(BatchedPortfolioEnv(N, market, infos="done", **OPTIONS), market)
    dummy = portfolio_metrics(
        DummyVecEnv([partial(PortfolioEnv, market, **OPTIONS) for _ in range(N)]), market
    )
    assert batched.keys() == dummy.keys() and len(batched) == 9 + len(market.symbols)
    assert batched == pytest.approx(dummy, abs=1e-12)


def test_portfolio_value_and_each_assets_weight_are_logged(market):
    dummy = DummyVecEnv([partial(PortfolioEnv, market, **OPTIONS) for _ in range(N)])
    dummy.seed(5)
    dummy.reset()
    rng = np.random.default_rng(0)
    finals, weights = [], []
    for _ in range(60):
        actions = rng.uniform(-1, 1, size=(N, len(market.symbols))).astype(np.float32)
        _, _, dones, infos = dummy.step(actions)
        finals += [infos[i]["portfolio_value"] for i in np.flatnonzero(dones)]
        weights.append(np.mean([info["weights"] for info in infos], axis=0))
    logged = portfolio_metrics(BatchedPortfolioEnv(N, market, infos="done", **OPTIONS), market)
    assert finals and logged["portfolio/value"] == pytest.approx(np.mean(finals), abs=1e-12)
    each = np.array([logged[f"portfolio/weight_{symbol}"] for symbol in market.symbols])
    np.testing.assert_allclose(each, np.mean(weights, axis=0), atol=1e-12)
    assert each.sum() == pytest.approx(1.0, abs=1e-12)


class InfoRecorder(BaseCallback):
    """Keeps, per rollout, every step's weights after trading and each finished episode's final value,
    read from the envs' infos."""

    def __init__(self) -> None:
        super().__init__()
        self.rollouts: list[dict[str, list]] = []

    def _on_rollout_start(self) -> None:
        self.rollouts.append({"weights": [], "finals": []})

    def _on_step(self) -> bool:
        rollout, infos = self.rollouts[-1], self.locals["infos"]
        rollout["weights"] += [info["weights"] for info in infos]
        rollout["finals"] += [infos[i]["portfolio_value"] for i in np.flatnonzero(self.locals["dones"])]
        return True


def test_tensorboard_shows_each_rollouts_final_value_and_mean_weight_of_each_asset(tmp_path, market):
    venv = DummyVecEnv([partial(PortfolioEnv, market, **OPTIONS) for _ in range(N)])
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0)
    model.set_logger(Logger(str(tmp_path), [TensorBoardOutputFormat(str(tmp_path))]))
    infos = InfoRecorder()
    portfolio = PortfolioMetricsCallback(1.0, market.periods_per_year, market.symbols)
    model.learn(3 * 32 * N, callback=[portfolio, infos])  # PPO writes after each rollout of 32 steps
    model.logger.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    values = events.Scalars("portfolio/value")
    assert [event.step for event in values] == [32 * N, 64 * N, 96 * N]
    finals = [np.mean(rollout["finals"]) for rollout in infos.rollouts]  # episodes end within each rollout
    np.testing.assert_allclose([event.value for event in values], finals, rtol=1e-6)  # float32 in the file
    weights = np.array(
        [[event.value for event in events.Scalars(f"portfolio/weight_{symbol}")] for symbol in market.symbols]
    ).T  # (rollouts, N+1), cash first
    np.testing.assert_allclose(weights, [np.mean(r["weights"], axis=0) for r in infos.rollouts], atol=1e-6)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)


# --- the drawdown budget's multiplier -------------------------------------------------------------


def normalized_training_env(kind: str, market) -> VecNormalize:
    """Training envs as ``make_training_env`` wraps them: Monitor-wrapped PortfolioEnvs in a
    DummyVecEnv, or a monitored BatchedPortfolioEnv, under VecNormalize."""
    if kind == "dummy":
        return VecNormalize(make_vec_env(partial(PortfolioEnv, market, **OPTIONS), n_envs=N))
    return VecNormalize(VecMonitor(BatchedPortfolioEnv(N, market, infos="done", **OPTIONS)))


def penalties(venv: VecEnv) -> list[float]:
    """The drawdown penalty each training env's kernel charges."""
    return [parameters.reward.drawdown_penalty for parameters in venv.get_attr("parameters")]


@pytest.mark.parametrize("kind", ["dummy", "batched"])
def test_a_rollout_end_moves_every_training_envs_multiplier_through_vec_normalize(market, kind):
    venv, logger = normalized_training_env(kind, market), Logger(None, [])
    episodes = PortfolioMetricsCallback(1.0, market.periods_per_year, market.symbols)
    budget = DrawdownBudgetCallback(multiplier=0.8, rate=2.0, tolerance=0.35, episodes=episodes)
    start(budget, venv, logger)
    assert penalties(venv) == [0.8] * N  # the starting multiplier, set at the training's start
    episodes.drawdowns += [0.5, 0.3]  # mean 0.4, 0.05 past the tolerance: up by 2.0 * 0.05 / 0.35
    budget.on_rollout_end()
    assert budget.multiplier == pytest.approx(0.8 + 2.0 * 0.05 / 0.35, abs=1e-15)
    assert penalties(venv) == [budget.multiplier] * N
    assert logger.name_to_value["risk/multiplier"] == budget.multiplier
    assert logger.name_to_value["risk/train_max_drawdown"] == pytest.approx(0.4, abs=1e-15)
    assert episodes.drawdowns == []  # each episode counts in one update only


def test_a_rollout_without_a_finished_episode_keeps_the_multiplier(market):
    venv, logger = normalized_training_env("batched", market), Logger(None, [])
    episodes = PortfolioMetricsCallback(1.0, market.periods_per_year, market.symbols)
    budget = DrawdownBudgetCallback(multiplier=0.8, rate=2.0, tolerance=0.35, episodes=episodes)
    start(budget, venv, logger)
    budget.on_rollout_end()
    assert budget.multiplier == 0.8 and penalties(venv) == [0.8] * N
    assert logger.name_to_value["risk/multiplier"] == 0.8
    assert "risk/train_max_drawdown" not in logger.name_to_value


# --- the selected model's metrics -----------------------------------------------------------------


def summary(sharpe: float, max_drawdown: float = 0.2) -> dict[str, float]:
    return {"sharpe": sharpe, "total_return": sharpe / 10, "cagr": sharpe / 5, "max_drawdown": max_drawdown}


WEIGHTS_AFTER = np.array([[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]])
"""The scripted validation run's weights: cash 25% then 50% on the bars it trades (the last only marks)."""


@pytest.fixture
def validation(tmp_path, tiny_config, market, monkeypatch):
    """Make a ValidationCallback whose evaluations score the scripted Sharpe ratios, on a tiny PPO."""
    config = tiny_config("ppo")
    run = RunFolder.create(tmp_path, config)
    env = partial(PortfolioEnv, market, **OPTIONS)
    model = PPO("MlpPolicy", DummyVecEnv([env]), n_steps=16, batch_size=16, device="cpu")
    monkeypatch.setattr(
        callbacks, "run_backtest", lambda policy, env: SimpleNamespace(weights_after=WEIGHTS_AFTER)
    )

    def make(
        sharpes: list[float], drawdowns: list[float] | None = None
    ) -> tuple[ValidationCallback, Recorder]:
        scripted = iter(zip(sharpes, drawdowns or [0.2] * len(sharpes), strict=True))
        monkeypatch.setattr(callbacks.metrics, "summarize", lambda result: summary(*next(scripted)))
        recorder = Recorder()
        model.set_logger(Logger(None, [recorder]))
        callback = ValidationCallback(run, env(split="validation"), summary(0.5), config)
        callback.init_callback(model)
        return callback, recorder

    return model, make


def test_best_metrics_are_the_selected_models_not_the_last_evaluated(validation):
    model, make = validation
    callback, recorder = make([1.5, 0.9])
    callback.evaluate()  # before training, at step 0: the best so far
    callback.on_training_start({}, {})
    model.num_timesteps = 100
    callback.on_step()  # a worse model at step 100
    logged = recorder.dumps[-1]
    assert logged["eval/sharpe"] == 0.9 and logged["eval/excess_sharpe"] == pytest.approx(0.4)
    assert logged["best/sharpe"] == 1.5 and logged["best/excess_sharpe"] == pytest.approx(1.0)
    assert logged["best/timesteps"] == 0


def test_a_resumed_run_reports_its_saved_best_models_metrics(validation):
    model, make = validation
    first, _ = make([1.5])
    first.evaluate()
    resumed, recorder = make([0.9])
    resumed.on_training_start({}, {})
    model.num_timesteps = 100
    resumed.on_step()
    assert recorder.dumps[-1]["best/sharpe"] == 1.5 and recorder.dumps[-1]["best/timesteps"] == 0


def test_each_evaluation_logs_the_risk_budget_of_the_validation_run(validation):
    _, make = validation
    callback, recorder = make([1.5, 0.9], drawdowns=[0.28, 0.42])  # moderate's tolerance: 35%
    callback.evaluate()
    callback.evaluate()
    kept, broken = recorder.dumps
    assert kept["risk/max_drawdown"] == 0.28 and kept["risk/budget_kept"] == 1.0
    assert kept["risk/cushion"] == pytest.approx(0.2, abs=1e-12)  # 1 - 0.28 / 0.35
    assert broken["risk/max_drawdown"] == 0.42 and broken["risk/budget_kept"] == 0.0
    assert broken["risk/cushion"] == pytest.approx(-0.2, abs=1e-12)  # 1 - 0.42 / 0.35
    assert kept["risk/exposure"] == broken["risk/exposure"] == pytest.approx(0.625, abs=1e-12)  # 1 - 0.375


# --- HPARAMS ------------------------------------------------------------------------------------


def log_hparams(folder: Path, config) -> None:
    output = TensorBoardOutputFormat(str(folder))
    logger = Logger(str(folder), [output])
    start(HParamsCallback(config), None, logger)
    logger.dump()  # as training's first dump does
    output.close()


def hparams_contents(folder: Path) -> dict[str, dict[str, bytes]]:
    """``{run: {tag: content}}`` of the HParams plugin's summaries, as TensorBoard reads a folder."""
    contents: dict[str, dict[str, bytes]] = {}
    for events in sorted(folder.glob("*/events.out.tfevents.*")):
        for event in EventFileLoader(str(events)).Load():
            for value in event.summary.value:
                plugin = value.metadata.plugin_data
                if plugin.plugin_name == hparams_metadata.PLUGIN_NAME:
                    contents.setdefault(events.parent.name, {})[value.tag] = plugin.content
    return contents


@pytest.mark.parametrize("first", ["ppo", "sac"])
def test_a_folder_of_ppo_and_sac_runs_shows_both_algorithms_hyperparameters(tmp_path, tiny_config, first):
    second = "sac" if first == "ppo" else "ppo"
    for order, algo in enumerate((first, second)):
        log_hparams(tmp_path / f"{order}-{algo}", tiny_config(algo))
    contents = hparams_contents(tmp_path)
    context = backend_context.Context(None)
    experiment = context.experiment_from_metadata(None, "", True, contents, None)  # TensorBoard's own choice
    columns = {info.name for info in experiment.hparam_infos}
    assert {"algo", "hp/n_steps", "hp/n_epochs", "hp/buffer_size", "hp/tau", "env/costs/fee"} <= columns
    assert {m.name.tag for m in experiment.metric_infos} == {
        "best/sharpe", "best/total_return", "best/max_drawdown", "best/excess_sharpe", "best/timesteps",
    }  # fmt: skip


def test_each_run_records_only_its_own_hyperparameters(tmp_path, tiny_config):
    log_hparams(tmp_path / "sac", tiny_config("sac"))
    content = hparams_contents(tmp_path)["sac"][hparams_metadata.SESSION_START_INFO_TAG]
    values = hparams_metadata.parse_session_start_info_plugin_data(content).hparams
    assert values["algo"].string_value == "sac" and values["hp/buffer_size"].number_value == 2000
    assert "hp/n_steps" not in values
