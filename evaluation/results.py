"""What an evaluation found: the data types that ``evaluate`` fills and the reports read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from cryptofolio.envs import Costs, MarketData
from cryptofolio.evaluation.backtest import BacktestResult


@dataclass
class AgentGroup:
    """Runs of one algorithm and profile (one per seed), or one policy of your own, and the baseline
    they are compared with."""

    algo: str
    """The runs' algorithm, or your policy's name."""
    profile: str
    """The name of the baseline the group is compared with: the runs' profile, or the rule your policy
    is compared with."""
    runs: list[str] = field(default_factory=list)
    ensemble_of: int = 0
    """For the ensemble of a group (one policy in ``runs``): how many seeds it averages; else 0."""
    own: bool = False
    """Your own policy (one result in ``runs``, named ``algo``), which the project did not train."""

    @property
    def name(self) -> str:
        if self.own:
            return self.algo
        return f"{self.algo}-{self.profile}" + ("-ensemble" if self.ensemble_of else "")

    @property
    def seeds(self) -> str:
        """What the group's rows stand for, in words: ``3 seeds``, ``an ensemble of 3 seeds``, or
        ``your policy``."""
        if self.own:
            return "your policy"
        n = self.ensemble_of or len(self.runs)
        counted = f"{n} seed{'s' if n > 1 else ''}"
        return f"an ensemble of {counted}" if self.ensemble_of else counted


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
    """The rules' specs, as given (``moderate_hedge:choose_eta=true``)."""
    rules: list[str]
    """Their names, as ``results`` and the tables key them (a spec with options names its rule file-safe)."""
    groups: list[AgentGroup]
    reference: str | None
    metrics: pd.DataFrame
    selection: pd.DataFrame
    """Per trained run (not your own policies): steps trained, the step of the model selected on
    validation, and its validation score."""
    group_summary: pd.DataFrame
    comparisons: pd.DataFrame
    diversification: pd.DataFrame
    claims: list[str]
