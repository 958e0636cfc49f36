"""One backtest runner for every policy, and its result.

:func:`run_backtest` runs a policy (an SB3 model or a rule) through a :class:`~cryptofolio.envs.PortfolioEnv`
over the env's whole split, from its first possible bar, deterministically: every policy
gets the same start, initial value, costs and ledger.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptofolio.agents import Policy, Rule, as_policy
from cryptofolio.envs import PortfolioEnv
from cryptofolio.envs.errors import ConfigError
from cryptofolio.envs.outputs import check_output_file
from cryptofolio.evaluation.metrics import METRICS, summarize

PERCENT = ("total_return", "cagr", "volatility", "max_drawdown", "fees", "time_invested")


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """One row per bar from the first to the last of the run (n+1 rows for n steps).

    At each bar but the last, the policy trades; the last bar only marks the final value.

    :param name: the policy's name.
    :param symbols: (N+1,) cash first.
    :param timestamps: (n+1,) UTC bar times.
    :param values: (n+1,) portfolio value at the bar's close, before trading.
    :param drawdowns: (n+1,) ``1 - value / running peak``.
    :param weights_before: (n+1, N+1) drifted weights before trading.
    :param weights_after: (n+1, N+1) weights after trading (equal to before on the last bar).
    :param turnover: (n+1,) risky value bought plus sold, as a fraction of the bar's value.
    :param fees: (n+1,) fees and slippage paid at the bar, quote currency.
    :param rewards: (n+1,) the env's reward for the step that starts at the bar (0 on the last).
    :param periods_per_year: annualization factor of the bars (365 daily, 8,760 hourly).
    :param meta: how the run was made (split, fee, slippage, market source, ...).
    """

    name: str
    symbols: tuple[str, ...]
    timestamps: pd.DatetimeIndex
    values: np.ndarray
    drawdowns: np.ndarray
    weights_before: np.ndarray
    weights_after: np.ndarray
    turnover: np.ndarray
    fees: np.ndarray
    rewards: np.ndarray
    periods_per_year: float
    meta: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """The per-bar table: date, value, drawdown, turnover, fees, reward, before_<S>, after_<S>."""
        frame = pd.DataFrame(
            {
                "date": self.timestamps,
                "value": self.values,
                "drawdown": self.drawdowns,
                "turnover": self.turnover,
                "fees": self.fees,
                "reward": self.rewards,
            }
        )
        before = pd.DataFrame(self.weights_before, columns=[f"before_{s}" for s in self.symbols])
        after = pd.DataFrame(self.weights_after, columns=[f"after_{s}" for s in self.symbols])
        return pd.concat([frame, before, after], axis=1)

    def save(self, path: str | Path) -> Path:
        """Write the table (``.csv`` or ``.parquet``) and ``<stem>.json`` beside it; return the table path.

        :raises ConfigError: if either is a link or a folder, or is in a trained run folder.
        """
        path = check_output_file(path)
        check_output_file(path.with_suffix(".json"))
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = self.to_frame()
        if path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        elif path.suffix == ".csv":
            frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
        else:
            raise ConfigError(f"{path}: save as .csv or .parquet")
        header = {"name": self.name, "symbols": list(self.symbols), "periods_per_year": self.periods_per_year}
        path.with_suffix(".json").write_text(json.dumps({**header, "meta": self.meta}, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> BacktestResult:
        """Read a result written by :meth:`save`."""
        path = Path(path)
        header = json.loads(path.with_suffix(".json").read_text())
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        symbols = tuple(header["symbols"])
        return cls(
            name=header["name"],
            symbols=symbols,
            timestamps=pd.DatetimeIndex(pd.to_datetime(frame["date"], utc=True)),
            values=frame["value"].to_numpy(),
            drawdowns=frame["drawdown"].to_numpy(),
            weights_before=frame[[f"before_{s}" for s in symbols]].to_numpy(),
            weights_after=frame[[f"after_{s}" for s in symbols]].to_numpy(),
            turnover=frame["turnover"].to_numpy(),
            fees=frame["fees"].to_numpy(),
            rewards=frame["reward"].to_numpy(),
            periods_per_year=float(header["periods_per_year"]),
            meta=header["meta"],
        )


def run_backtest(policy: Policy | Rule, env: PortfolioEnv, name: str | None = None) -> BacktestResult:
    """Run ``policy`` over the env's whole split from its first possible bar, deterministically.

    :param policy: anything with SB3's ``predict``, or a :class:`~cryptofolio.agents.Rule` (bound to ``env``).
    :param env: the env; its split, fees and initial value apply to every policy run on it.
    :param name: name of the result (default: the rule's name, or the policy's class name).
    """
    name = name or str(getattr(policy, "name", type(policy).__name__))
    bound = as_policy(policy, env)
    observation, info = env.reset(options={"start": env.first_start, "to_end": True})
    bars, values, drawdowns = [info["date"]], [info["portfolio_value"]], [info["drawdown"]]
    before, after, turnover, fees, rewards = [], [], [], [], []
    state, episode_start, done = None, np.ones(1, dtype=bool), False
    while not done:
        action, state = bound.predict(
            observation, state=state, episode_start=episode_start, deterministic=True
        )
        observation, reward, terminated, truncated, info = env.step(action)
        episode_start = np.zeros(1, dtype=bool)
        done = terminated or truncated
        bars.append(info["date"])
        values.append(info["portfolio_value"])
        drawdowns.append(info["drawdown"])
        before.append(info["drifted_weights"])
        after.append(info["weights"])
        turnover.append(info["turnover"])
        fees.append(info["fees"])
        rewards.append(float(reward))
    final = env.drifted_weights
    return BacktestResult(
        name=name,
        symbols=env.symbols,
        timestamps=pd.DatetimeIndex(bars).tz_localize("UTC"),
        values=np.array(values),
        drawdowns=np.array(drawdowns),
        weights_before=np.array([*before, final]),
        weights_after=np.array([*after, final]),
        turnover=np.array([*turnover, 0.0]),
        fees=np.array([*fees, 0.0]),
        rewards=np.array([*rewards, 0.0]),
        periods_per_year=env.market.periods_per_year,
        meta={
            "split": env.split,
            "fee": env.config.costs.fee,
            "slippage": env.config.costs.slippage,
            "cash_yield": env.config.costs.cash_yield,
            "initial_value": env.config.initial_value,
            "market": env.market.source,
            "terminated": bool(terminated),
        },
    )


def metrics_table(results: Sequence[BacktestResult]) -> pd.DataFrame:
    """One row of :data:`~cryptofolio.evaluation.metrics.METRICS` per result, indexed by name."""
    return pd.DataFrame(
        [summarize(r) for r in results], index=[r.name for r in results], columns=list(METRICS)
    )


def format_table(table: pd.DataFrame) -> str:
    """The metrics table as text: fractions in percent, ratios with two decimals."""
    shown = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column in PERCENT:
            shown[column] = table[column].map(lambda v: f"{v:.1%}")
        elif column in ("max_drawdown_span_days", "underwater_days"):
            shown[column] = table[column].map(lambda v: f"{v:.0f}")
        else:
            shown[column] = table[column].map(lambda v: f"{v:.2f}")
    return shown.to_string()
