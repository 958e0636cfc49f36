"""Training callbacks: portfolio metrics, validation and model selection, checkpoints, signals.

TensorBoard keys, beside stable-baselines3's ``rollout/`` and ``train/``:

- ``portfolio/``, from the training envs: the agent as it explores (sampled actions, or SAC's and
  TD3's action noise) on episodes of ``episode_length`` bars from random starts in the train
  split. Per finished episode: ``value`` (its final portfolio value, quote currency),
  ``log_return``, ``sharpe``, ``max_drawdown``, ``turnover`` (the episode's mean turnover per bar
  times the bars per year: exploration trades every bar, so it runs far above ``eval/turnover``),
  ``fees`` (fraction of the initial value). Per step: ``weight_<SYMBOL>`` (each of the market's
  symbols, cash first, e.g. ``weight_USDC``: its weight after trading; together they sum to 1),
  ``cash_weight``, ``concentration`` (sum of squared weights: 1 is one asset, 1/(N+1) is equal
  weights) and ``action_saturation`` (share of action components at the box's bounds). Each
  point is the mean over the episodes or steps since the previous one. The gradient agent logs
  the same per training window (its policy is deterministic, so they describe the policy) and
  ``train/loss`` (minus the mean per-step reward), ``train/grad_norm``.
- ``eval/``: the current model acting deterministically over the whole validation split: the
  metrics of :func:`cryptofolio.evaluation.metrics.summarize` (``turnover`` annualized the same
  way) and ``eval/excess_<metric>``, the agent's minus its profile baseline's on that split.
- ``best/``: the same for the model kept in ``best/`` (the selected one), and ``best/timesteps``,
  the step it was saved at; TensorBoard's HPARAMS tab reports these.
- ``risk/``: the same validation run against the profile's risk budget: ``max_drawdown``,
  ``budget_kept`` (1 if that drawdown is within the profile's tolerance, its ``max_drawdown``,
  else 0), ``cushion`` (``1 - max_drawdown / tolerance``: 1 without a loss, 0 at the tolerance,
  negative past it) and ``exposure`` (the mean risky share, 1 minus the mean cash weight). With
  ``budget_rate`` (:class:`DrawdownBudgetCallback`), from training: ``multiplier``, the drawdown
  penalty the training envs charge, and ``train_max_drawdown``, the mean max drawdown of the
  training episodes (the gradient agent's windows) it was moved by.
- ``collapse/``: whether the model learned anything, on the same validation run: ``distance_to_rule``
  and ``distance_to_equal_weight`` (mean total-variation distance of its weights to its base rule's,
  the rule it is anchored on or its profile's, and to equal weights: 0 the same, 1 nothing in common)
  and ``turnover`` (annualized); a model at distance 0 from its rule is the rule.

Metrics come from :mod:`cryptofolio.evaluation.metrics`; nothing here recomputes them.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import numpy as np
import pandas as pd
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import TensorBoardOutputFormat
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hp

from cryptofolio import configs
from cryptofolio.agents.hyperparameters import hyperparameter_names
from cryptofolio.agents.learners import learner, names
from cryptofolio.agents.sb3 import TrainedPolicy
from cryptofolio.agents.snapshots import STATE
from cryptofolio.envs import PortfolioEnv, risk_profile
from cryptofolio.envs.config import to_data
from cryptofolio.envs.vector_env import BatchedPortfolioEnv
from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.backtest import BacktestResult, run_backtest
from cryptofolio.training.config import RUN_FIELDS, TrainConfig
from cryptofolio.training.run_folder import RunFolder, write_text

SATURATED = 0.999  # |action| at or above this counts as at the bound
EXCESS = ("sharpe", "total_return", "cagr", "max_drawdown")
HPARAMS_METRICS = ("sharpe", "total_return", "max_drawdown", "excess_sharpe")
"""The ``best/`` metrics the HPARAMS tab reports (with the run's selection metric)."""


class PortfolioMetricsCallback(BaseCallback):
    """Log ``portfolio/`` metrics of the training envs' steps: the agent as it explores.

    These describe training, not the policy: actions are sampled (or noised) and episodes are
    ``episode_length`` bars from random starts, so ``portfolio/turnover`` (the episode's mean
    turnover per bar times ``periods_per_year``) runs far above the deterministic policy's
    ``eval/turnover`` on the validation split. With a
    :class:`~cryptofolio.envs.vector_env.BatchedPortfolioEnv` the step's arrays are read directly
    (its infos are kept to finished episodes); with other vector envs, from the infos.

    :param initial_value: the envs' initial portfolio value (the value before an episode's first step).
    :param periods_per_year: annualization factor of the market's bars.
    :param symbols: (N+1,) the market's symbols, cash first: ``portfolio/weight_<symbol>`` is the mean
        weight after trading of each, over the training envs' steps.
    """

    def __init__(self, initial_value: float, periods_per_year: float, symbols: Sequence[str]) -> None:
        super().__init__()
        self.initial_value = initial_value
        self.periods_per_year = periods_per_year
        self.symbols = tuple(symbols)
        self._episodes: list[dict[str, list[float]]] = []
        self.drawdowns: list[float] | None = None
        """Max drawdown of each training episode finished since a reader last cleared the list; None: a
        reader has not asked for them (:class:`DrawdownBudgetCallback` does), and none are kept."""

    def _on_training_start(self) -> None:
        self._episodes = [self._new_episode() for _ in range(self.training_env.num_envs)]

    def _new_episode(self) -> dict[str, list[float]]:
        return {"values": [self.initial_value], "turnover": [], "fees": []}

    def _step(self) -> dict[str, np.ndarray]:
        """The step's weights, values, turnover and fees, one row per env."""
        batched = self.training_env.unwrapped
        if isinstance(batched, BatchedPortfolioEnv):
            return batched.last_step
        infos = self.locals["infos"]
        return {
            key: np.array([info[key] for info in infos])
            for key in ("weights", "portfolio_value", "turnover", "fees")
        }

    def _on_step(self) -> bool:
        actions = self.locals.get("clipped_actions", self.locals.get("actions"))
        if actions is not None:
            self.logger.record_mean(
                "portfolio/action_saturation", float(np.mean(np.abs(actions) >= SATURATED))
            )
        step = self._step()
        weights = step["weights"]
        self.logger.record_mean("portfolio/cash_weight", float(weights[:, 0].mean()))
        self.logger.record_mean(
            "portfolio/concentration", float(np.einsum("ij,ij->i", weights, weights).mean())
        )
        log_weights(self.logger.record_mean, self.symbols, weights.mean(axis=0))
        for i, done in enumerate(self.locals["dones"]):
            episode = self._episodes[i]
            episode["values"].append(float(step["portfolio_value"][i]))
            episode["turnover"].append(float(step["turnover"][i]))
            episode["fees"].append(float(step["fees"][i]))
            if done:
                self._log_episode(episode)
                self._episodes[i] = self._new_episode()
        return True

    def _log_episode(self, episode: dict[str, list[float]]) -> None:
        if self.drawdowns is not None:
            self.drawdowns.append(metrics.max_drawdown(np.array(episode["values"])))
        log_episode(
            self.logger.record_mean,
            np.array(episode["values"]),
            np.array(episode["turnover"]),
            np.array(episode["fees"]),
            self.periods_per_year,
        )


def log_weights(record: Callable[[str, float], None], symbols: Sequence[str], weights: np.ndarray) -> None:
    """Record ``portfolio/weight_<symbol>``: (N+1,) ``weights``, cash first, in ``symbols``' order."""
    for symbol, weight in zip(symbols, weights.tolist(), strict=True):
        record(f"portfolio/weight_{symbol}", weight)


def log_episode(
    record: Callable[[str, float], None],
    values: np.ndarray,
    turnover: np.ndarray,
    fees: np.ndarray,
    periods_per_year: float,
) -> None:
    """Record one training episode's ``portfolio/`` metrics (``record``: a logger's ``record_mean``).

    :param values: (L+1,) portfolio values from the start; :param turnover: (L,); :param fees: (L,).
    ``portfolio/value`` is the episode's final value, in the quote currency.
    """
    record("portfolio/value", float(values[-1]))
    record("portfolio/log_return", float(np.log(values[-1] / values[0])))
    record("portfolio/max_drawdown", metrics.max_drawdown(values))
    record("portfolio/turnover", metrics.annualized_turnover(turnover, periods_per_year))
    record("portfolio/fees", float(np.sum(fees) / values[0]))
    if len(values) > 2:
        sharpe = metrics.sharpe_ratio(values, periods_per_year)
        if np.isfinite(sharpe):
            record("portfolio/sharpe", sharpe)


class RolloutMetricsCallback(BaseCallback):
    """Log ``portfolio/`` metrics of the gradient agent's training windows, each as an episode.

    Reads the arrays a learner that trains on a ``portfolio_env`` (:mod:`cryptofolio.agents.learners`)
    puts in ``locals["rollout"]`` after each update. The gradient agent's policy is deterministic, so
    these describe the policy itself on windows of ``n_steps`` bars of the train split, from all cash.

    :param periods_per_year: annualization factor of the market's bars.

    ``portfolio/weight_<symbol>`` is each asset's mean target weight over the windows (0 in a window
    that does not trade it: a pooled learner's windows trade a few of the pool's assets each).
    """

    def __init__(self, periods_per_year: float) -> None:
        super().__init__()
        self.periods_per_year = periods_per_year
        self.drawdowns: list[float] | None = None
        """Max drawdown of each training window since a reader last cleared the list; None: not kept."""

    def _on_step(self) -> bool:
        rollout = self.locals["rollout"]
        if self.drawdowns is not None:
            self.drawdowns += [metrics.max_drawdown(values) for values in rollout["values"]]
        record = self.logger.record_mean
        weights = rollout["weights"]
        record("portfolio/cash_weight", float(weights[..., 0].mean()))
        record("portfolio/concentration", float(np.einsum("bti,bti->bt", weights, weights).mean()))
        log_weights(record, rollout["symbols"], rollout["mean_weights"])
        for k in range(len(weights)):
            log_episode(
                record,
                rollout["values"][k],
                rollout["turnover"][k],
                rollout["fees"][k],
                self.periods_per_year,
            )
        return True


class ValidationCallback(BaseCallback):
    """Every ``eval_freq`` steps, backtest the current model on the validation split.

    Logs ``eval/`` metrics and the excess over the profile baseline, appends them to
    ``evaluations.csv``, saves the model as ``best/`` when the selection metric improves, and
    logs the metrics of the model in ``best/`` as ``best/`` (with ``best/timesteps``).
    Observation normalization is read from the training envs' statistics and never updated.

    :param run: the run folder.
    :param env: a PortfolioEnv on the validation split (never the test split).
    :param baseline: the profile baseline's metrics on the same split.
    :param config: the run's config (eval_freq, selection_metric).
    :param on_evaluation: called with ``(timesteps, score)`` after each periodic evaluation;
        training stops when it returns False (a tuner's pruning).
    :param rule: the base rule's backtest on the same split (``collapse/`` keys; None: not logged).
    """

    def __init__(
        self,
        run: RunFolder,
        env: PortfolioEnv,
        baseline: dict[str, float],
        config: TrainConfig,
        on_evaluation: Callable[[int, float], bool] | None = None,
        rule: BacktestResult | None = None,
    ) -> None:
        super().__init__()
        if env.split != "validation":
            raise ValueError(f"models are selected on the validation split, not on {env.split!r}")
        self.run, self.env, self.baseline, self.config = run, env, baseline, config
        self.on_evaluation, self.rule = on_evaluation, rule
        self.stopped = False
        """Whether ``on_evaluation`` stopped training."""
        self.best = -np.inf
        self.selected: dict[str, float] = {}
        """Validation metrics and excesses over the baseline of the model in ``best/``, and its timesteps."""
        self._next = 0

    def _on_training_start(self) -> None:
        best_state = self.run.path / "best" / STATE
        if best_state.exists():  # a resumed run keeps its best model's score and metrics
            state = json.loads(best_state.read_text())
            self.best = _rank(float(state["score"]))
            self.selected = {"timesteps": state["timesteps"], **self._with_excess(state["validation"])}
        self._next = (self.num_timesteps // self.config.eval_freq + 1) * self.config.eval_freq

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next += self.config.eval_freq
            score = self.evaluate()[self.config.selection_metric]
            if self.on_evaluation is not None and not self.on_evaluation(self.num_timesteps, score):
                self.stopped = True
                return False
        return True

    def evaluate(self) -> dict[str, float]:
        """Backtest the current model on validation, log, and keep it if it is the best so far."""
        normalizer = self.model.get_vec_normalize_env()
        policy = TrainedPolicy(self.model, normalizer, name=self.run.path.name)
        result = run_backtest(policy, self.env)
        summary = metrics.summarize(result)
        evaluated = self._with_excess(summary)
        for key, value in evaluated.items():
            self.logger.record(f"eval/{key}", value)
        for key, value in self._risk(result, summary).items():
            self.logger.record(f"risk/{key}", value)
        if self.rule is not None:
            bars = slice(self.env.first_start, self.env.first_start + len(result.values))
            for key, value in metrics.collapse(result, self.rule, self.env.market.available[bars]).items():
                self.logger.record(f"collapse/{key}", value)
        self._append_row({"timesteps": self.num_timesteps, **evaluated})
        score = summary[self.config.selection_metric]
        if _rank(score) > self.best or not self.selected:  # the first evaluation is kept whatever its score
            self.best = _rank(score)
            state = {"timesteps": self.num_timesteps, "metric": self.config.selection_metric, "score": score}
            self.run.save_snapshot("best", self.model, normalizer, {**state, "validation": summary})
            self.selected = {"timesteps": self.num_timesteps, **evaluated}
        for key, value in self.selected.items():
            self.logger.record(f"best/{key}", value)
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.dump(self.num_timesteps)
        return summary

    def _risk(self, result: BacktestResult, summary: dict[str, float]) -> dict[str, float]:
        """The validation run against the profile's drawdown tolerance (the module docstring's ``risk/``)."""
        tolerance = risk_profile(self.env.profile).max_drawdown
        drawdown = summary["max_drawdown"]
        return {
            "max_drawdown": drawdown,
            "budget_kept": float(drawdown <= tolerance),
            "cushion": 1.0 - drawdown / tolerance,
            "exposure": metrics.mean_exposure(result.weights_after[:-1]),  # the bars where it traded
        }

    def _with_excess(self, summary: dict[str, float]) -> dict[str, float]:
        """``summary`` and, for :data:`EXCESS`, ``excess_<metric>``: the agent's minus the baseline's."""
        return {**summary, **{f"excess_{k}": summary[k] - self.baseline[k] for k in EXCESS}}

    def _append_row(self, row: dict[str, Any]) -> None:
        path = self.run.path / "evaluations.csv"
        table = pd.read_csv(path) if path.exists() else pd.DataFrame()
        write_text(path, pd.concat([table, pd.DataFrame([row])], ignore_index=True).to_csv(index=False))


def next_multiplier(multiplier: float, rate: float, drawdowns: Sequence[float], tolerance: float) -> float:
    """One step of dual ascent on the budget: ``max(0, multiplier + rate * (mean(drawdowns) - tolerance)
    / tolerance)``: up while the episodes' max drawdowns break the tolerance, down while they keep it."""
    return max(0.0, multiplier + rate * (float(np.mean(drawdowns)) - tolerance) / tolerance)


class DrawdownBudgetCallback(BaseCallback):
    """The drawdown penalty of the training envs as a Lagrange multiplier on the budget
    (``RewardConfig.budget_rate``): after each rollout (SB3) or update (the gradient agent), moved by
    :func:`next_multiplier` from the episodes' max drawdowns that ``episodes`` recorded, and set on the
    training env; logs ``risk/multiplier`` and ``risk/train_max_drawdown``.

    :param multiplier: the starting penalty (the config's, or a resumed checkpoint's).
    :param rate: ``budget_rate``; :param tolerance: the reward's drawdown tolerance.
    :param episodes: the callback that records each training episode's max drawdown.
    """

    def __init__(
        self,
        multiplier: float,
        rate: float,
        tolerance: float,
        episodes: PortfolioMetricsCallback | RolloutMetricsCallback,
    ) -> None:
        super().__init__()
        self.multiplier, self.rate, self.tolerance, self.episodes = multiplier, rate, tolerance, episodes
        episodes.drawdowns = []  # from now on it keeps them for this callback

    def _on_training_start(self) -> None:
        self._apply()

    def _on_step(self) -> bool:
        if isinstance(self.episodes, RolloutMetricsCallback):  # the gradient agent: each step is an update
            self._update()
        return True

    def _on_rollout_end(self) -> None:
        self._update()

    def _update(self) -> None:
        drawdowns = self.episodes.drawdowns
        assert drawdowns is not None  # set in __init__
        if drawdowns:
            self.logger.record("risk/train_max_drawdown", float(np.mean(drawdowns)))
            self.multiplier = next_multiplier(self.multiplier, self.rate, drawdowns, self.tolerance)
            drawdowns.clear()
            self._apply()
        self.logger.record("risk/multiplier", self.multiplier)

    def _apply(self) -> None:
        own = getattr(self.model, "env", None)  # a learner that trains on one PortfolioEnv
        if isinstance(own, PortfolioEnv):
            own.set_drawdown_penalty(self.multiplier)
            return
        venv = self.training_env.unwrapped
        if isinstance(venv, BatchedPortfolioEnv):
            venv.set_drawdown_penalty(self.multiplier)
        else:
            venv.env_method("set_drawdown_penalty", self.multiplier)


class CheckpointCallback(BaseCallback):
    """Every ``checkpoint_freq`` steps, save a resumable ``checkpoint/`` (with the replay buffer).

    :param budget: the drawdown multiplier's callback, whose value the checkpoint keeps (None: none).
    """

    def __init__(
        self, run: RunFolder, checkpoint_freq: int, budget: DrawdownBudgetCallback | None = None
    ) -> None:
        super().__init__()
        self.run, self.checkpoint_freq, self.budget = run, checkpoint_freq, budget
        self._next = 0

    def _on_training_start(self) -> None:
        self._next = (self.num_timesteps // self.checkpoint_freq + 1) * self.checkpoint_freq

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next += self.checkpoint_freq
            save_checkpoint(self.run, self.model, self.budget)
        return True


def save_checkpoint(run: RunFolder, model: Any, budget: DrawdownBudgetCallback | None = None) -> None:
    """Write the resumable state of ``model`` (and of the drawdown multiplier, if any) to ``checkpoint/``."""
    state: dict[str, float] = {"timesteps": model.num_timesteps}
    if budget is not None:
        state["drawdown_penalty"] = budget.multiplier
    run.save_snapshot("checkpoint", model, model.get_vec_normalize_env(), state, True)


class StopOnSignalCallback(BaseCallback):
    """Stop training cleanly at the next step after SIGINT (Ctrl-C) or SIGTERM.

    The handlers are installed for the duration of training and restored afterwards (only
    from the main thread, the only one Python lets handle signals); :attr:`received` tells
    which signal stopped the run, if any.
    """

    def __init__(self) -> None:
        super().__init__()
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _on_training_start(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum

    def _on_step(self) -> bool:
        return self.received is None

    def _on_training_end(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


class HParamsCallback(BaseCallback):
    """Log the run's settings to TensorBoard's HPARAMS tab, against the selected model's ``best/`` metrics.

    TensorBoard takes a folder's columns from the first experiment summary it finds in any of
    its runs, so a run declaring only its own settings would hide another algorithm's
    hyperparameters (SAC's run read first: no ``hp/n_steps`` for PPO). Every run therefore
    declares the same columns (:func:`hparam_columns`) and records its own values in its
    session (``hparams_pb``, the plugin's per-trial summary); a column a run does not use is blank.
    """

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.config = config

    def _on_training_start(self) -> None:
        metric = self.config.selection_metric
        names = dict.fromkeys([*HPARAMS_METRICS, metric, "timesteps"])
        described = {"timesteps": "step at which the model in best/ was saved"}
        experiment = api_pb2.Experiment(
            hparam_infos=[
                api_pb2.HParamInfo(name=name, type=_data_type(value))
                for name, value in sorted(hparam_columns(self.config).items())
            ],
            metric_infos=[
                api_pb2.MetricInfo(
                    name=api_pb2.MetricName(tag=f"best/{name}"),
                    description=described.get(
                        name, f"{name} on the validation split of the model in best/ (selected on {metric})"
                    ),
                    dataset_type=api_pb2.DATASET_VALIDATION,
                )
                for name in names
            ],
        )
        content = plugin_data_pb2.HParamsPluginData(experiment=experiment)
        declared = Summary()
        declared.value.add(
            tag=metadata.EXPERIMENT_TAG,
            metadata=metadata.create_summary_metadata(content),
            tensor=metadata.NULL_TENSOR,
        )
        session = hp.hparams_pb(hparam_values(self.config))
        for output in self.logger.output_formats:
            if isinstance(output, TensorBoardOutputFormat) and output.writer.file_writer is not None:
                output.writer.file_writer.add_summary(declared)
                output.writer.file_writer.add_summary(session)
                output.writer.flush()

    def _on_step(self) -> bool:
        return True


def hparam_values(config: TrainConfig) -> dict[str, bool | int | float | str]:
    """A run's settings as the HPARAMS tab's values: one level, keys joined by ``/``, hyperparameters
    under ``hp/``; values other than booleans, numbers and strings as text (``[64, 64]``, ``None``)."""
    data = to_data(config)
    data["hp"] = data.pop("hyperparams")
    return {k: v if isinstance(v, bool | int | float | str) else str(v) for k, v in _flat(data).items()}


def hparam_columns(config: TrainConfig) -> dict[str, Any]:
    """The HPARAMS columns every run declares, each with an example value (None: of unknown type).

    ``config``'s own settings, every registered learner's hyperparameters (read from its class,
    not from its config file: a learner without one harms no other run) and every setting of
    the search spaces (``configs/search.yaml``).
    """
    columns: dict[str, Any] = {}
    search = configs.read("search")
    for name in names():
        for key in [*hyperparameter_names(learner(name).algorithm), *search.get(name, {})]:
            columns.setdefault(_column(key), None)
    return columns | hparam_values(config)


def _column(key: str) -> str:
    """The HPARAMS column of a setting's dotted key: run fields at the top, hyperparameters under ``hp/``."""
    parts = key.split(".")
    return "/".join(parts if parts[0] in RUN_FIELDS else ["hp", *parts])


def _data_type(value: Any) -> int:
    """The HParams plugin's data type of a column whose values are like ``value``."""
    if isinstance(value, bool):
        return api_pb2.DATA_TYPE_BOOL
    if isinstance(value, int | float):
        return api_pb2.DATA_TYPE_FLOAT64
    return api_pb2.DATA_TYPE_STRING if isinstance(value, str) else api_pb2.DATA_TYPE_UNSET


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as one level, keys joined by ``/`` (``env/costs/fee``)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat |= _flat(value, f"{prefix}{key}/")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _rank(score: float) -> float:
    """A validation score as selection compares it: an undefined one (the Sharpe ratio of a path that never
    moves, such as a policy held in cash by its anchor rule) ranks below every defined one."""
    return score if np.isfinite(score) else -np.inf
