"""Policies: rule-based baselines and trained agents (stable-baselines3's, the gradient agent), one predict().

``load_policy`` and ``TrainedPolicy`` (from :mod:`cryptofolio.agents.sb3`) load on first use, so importing the
baselines does not import torch. The learners that train agents are in :mod:`cryptofolio.agents.learners`.
"""

from typing import Any

from cryptofolio.agents.base import Policy, Rule, RulePolicy, as_policy
from cryptofolio.agents.baselines import BASELINES, make_baseline
from cryptofolio.agents.classic import (
    BtcOnly,
    BuyAndHold,
    Cash,
    EqualWeight,
    InverseVolatility,
    MinVariance,
    Olmar,
    RiskParity,
)
from cryptofolio.agents.regimes import detect_regime
from cryptofolio.agents.risk_profiles import ProfileRule, profile_targets

_TRAINED_NAMES = ("TrainedPolicy", "load_policy")


def __getattr__(name: str) -> Any:
    if name in _TRAINED_NAMES:
        from cryptofolio.agents import sb3

        return getattr(sb3, name)
    raise AttributeError(f"module 'cryptofolio.agents' has no attribute {name!r}")


__all__ = [
    "BASELINES",
    "BtcOnly",
    "BuyAndHold",
    "Cash",
    "EqualWeight",
    "InverseVolatility",
    "MinVariance",
    "Olmar",
    "Policy",
    "ProfileRule",
    "RiskParity",
    "Rule",
    "RulePolicy",
    "TrainedPolicy",
    "as_policy",
    "detect_regime",
    "load_policy",
    "make_baseline",
    "profile_targets",
]
