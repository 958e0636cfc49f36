"""What an evaluation found: the data types that ``evaluate`` fills and the reports read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from cryptofolio.envs import Costs, MarketData
from cryptofolio.evaluation.backtest import BacktestResult


@dataclass
class AgentGroup:
    """Runs of one algorithm and profile (one per seed), and the baseline they are compared with."""

    algo: str
    profile: str
    runs: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.algo}-{self.profile}"


@dataclass
class Evaluation:
    """Everything a report shows; tables are pandas DataFrames indexed by policy or group."""

    market: MarketData
    split: str
    bars: range
    costs: Costs
    """What every policy paid: the same fee, slippage and cash yield for agents and baselines."""
    results: dict[str, BacktestResult]
    baselines: list[str]
    groups: list[AgentGroup]
    reference: str | None
    metrics: pd.DataFrame
    selection: pd.DataFrame
    """Per run: steps trained, the step of the model selected on validation, and its validation score."""
    group_summary: pd.DataFrame
    comparisons: pd.DataFrame
    diversification: pd.DataFrame
    claims: list[str]
