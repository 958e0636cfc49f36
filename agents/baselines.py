"""Baselines by name, as the command line shows them.

A spec is a name, optionally with options: ``moderate``, ``moderate:calendar=monthly``,
``equal_weight:calendar=weekly``, ``moderate:band=0.1,adaptive_band=false``. Options are the
rule's constructor arguments (see :mod:`cryptofolio.agents.risk_profiles` and
:mod:`cryptofolio.agents.classic`).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from cryptofolio.agents.base import Rule
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
from cryptofolio.agents.risk_profiles import ProfileRule
from cryptofolio.envs import PROFILE_NAMES
from cryptofolio.envs.config import from_data
from cryptofolio.envs.errors import ConfigError

BASELINES: dict[str, tuple[type[Rule], dict[str, Any]]] = {
    **{name: (ProfileRule, {"profile": name}) for name in PROFILE_NAMES},
    **{f"{name}_regime": (ProfileRule, {"profile": name, "regime_aware": True}) for name in PROFILE_NAMES},
    "buy_and_hold": (BuyAndHold, {}),
    "equal_weight": (EqualWeight, {}),
    "inverse_volatility": (InverseVolatility, {}),
    "risk_parity": (RiskParity, {}),
    "min_variance": (MinVariance, {}),
    "btc_only": (BtcOnly, {}),
    "cash": (Cash, {}),
    "olmar": (Olmar, {}),
}
"""Every baseline: name -> (rule class, fixed options). ``all`` on the command line means these."""


def make_baseline(spec: str) -> Rule:
    """The rule a spec names (see the module docstring); its ``name`` is the spec, made file-safe."""
    name, _, options = spec.strip().partition(":")
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)} (or all)")
    kwargs = {}
    for option in filter(None, options.split(",")):
        key, sep, value = option.partition("=")
        if not sep:
            raise ConfigError(f"baseline option {option!r} in {spec!r} must be key=value")
        kwargs[key.strip()] = _value(value.strip())
    rule_class, fixed = BASELINES[name]
    allowed = set(inspect.signature(rule_class).parameters) - set(fixed) - {"name"}
    unknown = set(kwargs) - allowed
    if unknown:
        raise ConfigError(
            f"{name} has no option {', '.join(sorted(unknown))}; options: {', '.join(sorted(allowed))}"
        )
    try:
        rule = from_data(rule_class, {**fixed, **kwargs})
    except ConfigError as error:
        raise ConfigError(f"baseline {spec.strip()!r}: {error}") from None
    rule.name = re.sub(r"[^A-Za-z0-9.]+", "_", spec.strip()) if kwargs else name
    return rule


def _value(text: str) -> bool | int | float | str | None:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
