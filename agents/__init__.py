"""Policies: rule-based baselines and (later) stable-baselines3 agents, all answering the same predict()."""

from agents.base import Policy, Rule, RulePolicy, as_policy
from agents.baselines import BASELINES, make_baseline
from agents.classic import (
    BtcOnly,
    BuyAndHold,
    Cash,
    EqualWeight,
    InverseVolatility,
    MinVariance,
    Olmar,
    RiskParity,
)
from agents.regimes import detect_regime
from agents.risk_profiles import ProfileRule, profile_targets

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
    "as_policy",
    "detect_regime",
    "make_baseline",
    "profile_targets",
]
