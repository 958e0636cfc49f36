"""The one policy interface, and rule-based allocations bound to an env through it.

Every policy, learned or rule-based, answers stable-baselines3's
``predict(observation, state=None, episode_start=None, deterministic=True) -> (action, state)``,
so evaluation treats an SB3 model and a baseline alike.

A :class:`Rule` decides target weights from a :class:`~cryptofolio.envs.market.MarketView` (the market up
to the current bar, nothing after) and the current drifted weights. :class:`RulePolicy` binds a
rule to a :class:`~cryptofolio.envs.PortfolioEnv`, reads the view and weights from it and turns the target
into the env's action.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cryptofolio.envs import MarketView, PortfolioEnv, weights_to_action
from cryptofolio.envs.errors import ConfigError

CALENDARS = ("daily", "weekly", "monthly")


class Policy(Protocol):
    """Anything with stable-baselines3's ``predict``."""

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]: ...


class Rule(ABC):
    """A rule-based allocation: a pure function of what is known at the current bar."""

    name: str = "rule"

    @abstractmethod
    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        """(N+1,) target weights, cash first, non-negative, summing to one.

        :param view: the market up to and including the current bar.
        :param weights: (N+1,) current drifted weights (before trading at this bar).
        :param first: whether this is the episode's first decision.

        Returning ``weights`` itself means: do not trade.
        """

    def target(self, view: MarketView) -> np.ndarray:
        """(N+1,) the allocation the rule aims for at the view's bar, before its trading schedule
        (what overlays scale and learners are anchored on).

        :raises ConfigError: for a rule whose decision is not a standing target (it depends on
            the weights held).
        """
        raise ConfigError(
            f"{self.name} has no standing target (its trades depend on the weights held): overlays and "
            "anchors take a profile, its regime variant, cash, btc_only, equal_weight or an estimated rule"
        )


class RulePolicy:
    """A :class:`Rule` answering ``predict`` for one env, whose current bar it reads.

    The observation is not used: the rule reads the same facts (market up to now, current
    weights) from the env, through a view that ends at the current bar.
    """

    def __init__(self, rule: Rule, env: PortfolioEnv) -> None:
        if not env.config.actions.free:
            raise ValueError(
                f"rule {rule.name} chooses weights itself; run it on an env without residual, trade_band "
                "or decision_every (EnvConfig.for_rules drops them)"
            )
        self.rule = rule
        self.env = env

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        env = self.env
        target = self.rule.target_weights(env.market_view(), env.drifted_weights, env.episode_steps == 0)
        return weights_to_action(target), state


def as_policy(policy: Policy | Rule, env: PortfolioEnv) -> Policy:
    """``policy`` itself, or a rule bound to ``env``."""
    return RulePolicy(policy, env) if isinstance(policy, Rule) else policy


def period_started(view: MarketView, calendar: str) -> bool:
    """Whether the current bar is the first of a new day, ISO week or month (vs. the bar before)."""
    if calendar not in CALENDARS:
        raise ConfigError(f"calendar must be one of {', '.join(CALENDARS)}, got {calendar!r}")
    if view.t == 0:
        return True
    now, before = view.timestamps[-1], view.timestamps[-2]
    return _period(now, calendar) != _period(before, calendar)


def _period(stamp: pd.Timestamp, calendar: str) -> tuple[int, ...]:
    if calendar == "monthly":
        return (stamp.year, stamp.month)
    if calendar == "weekly":
        iso = stamp.isocalendar()
        return (iso.year, iso.week)
    return (stamp.year, stamp.month, stamp.day)


def all_cash(n_columns: int) -> np.ndarray:
    """(N+1,) everything in cash."""
    weights = np.zeros(n_columns)
    weights[0] = 1.0
    return weights


def equal_weights(listed: np.ndarray) -> np.ndarray:
    """(N+1,) equal weights over the listed risky assets; all cash if none is listed."""
    risky = np.flatnonzero(listed[1:]) + 1
    if len(risky) == 0:
        return all_cash(len(listed))
    weights = np.zeros(len(listed))
    weights[risky] = 1.0 / len(risky)
    return weights
