"""Add a learner the project does not ship, stable-baselines3's DDPG, with no edit to the package:
register it, train it briefly on the synthetic market (moderate profile), and evaluate it against
the rule-based baselines on the test split.

    python examples/register_learner.py

The registry entry (:func:`cryptofolio.agents.learners.sb3_learner`) says how DDPG is made, saved
and loaded (stable-baselines3's archive, read without unpickling), that a checkpoint keeps its
replay buffer, where its hyperparameters are (``examples/ddpg.yaml``) and its ``--quick`` budget.
From then on ``train``, ``resume``, ``load_policy`` and ``evaluate`` take ``algo="ddpg"`` like
any built-in learner. For ``cryptofolio train --algo ddpg`` to see it, publish the entry in the
entry-point group ``cryptofolio.learners`` of an installed package (README, "Your own learner").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from stable_baselines3 import DDPG

from cryptofolio.agents.learners import Budgets, register, sb3_learner
from cryptofolio.envs import MarketConfig
from cryptofolio.evaluation.backtest import format_table
from cryptofolio.evaluation.evaluate import evaluate
from cryptofolio.evaluation.tables import label
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

LEARNER = sb3_learner("ddpg", DDPG, config=Path(__file__).with_name("ddpg.yaml"), budgets=Budgets(quick=400))
"""DDPG as the registry knows it: off-policy (from its class), its config file beside this script."""
BASELINES = ["moderate", "equal_weight", "btc_only", "cash"]
HEADLINE = ["total_return", "sharpe", "max_drawdown", "turnover", "fees"]


def main(out: Path = Path("checkpoints/examples"), timesteps: int | None = None) -> pd.DataFrame:
    """Register DDPG, train one run into ``out`` (``timesteps``: None for ddpg.yaml's), evaluate it on
    the test split against ``BASELINES``; print and return the headline metrics."""
    register(LEARNER)
    config = resolve_config("ddpg", "moderate", n_timesteps=timesteps, seed=0)
    run = RunFolder.create(out, config)
    outcome = train(config, run)
    print(f"trained DDPG {outcome.timesteps:,} steps into {run.path}", end="; ")
    print(f"best validation sharpe {outcome.best:.3f}")
    market, splits = MarketConfig().load()
    evaluation = evaluate([run.path], BASELINES, market, splits, "test")
    table = evaluation.metrics.loc[[run.path.name, *BASELINES], HEADLINE]
    print(format_table(table.rename(index=label)))
    for claim in evaluation.claims:
        print(f"- {claim}")
    return table


if __name__ == "__main__":
    main()
