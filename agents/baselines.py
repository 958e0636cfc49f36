"""Baselines by name, as the command line shows them.

A spec is a name, optionally with options: ``moderate``, ``moderate:calendar=monthly``,
``equal_weight:calendar=weekly``, ``moderate:band=0.1,adaptive_band=false``. Options are the
rule's constructor arguments (see :mod:`cryptofolio.agents.risk_profiles` and
:mod:`cryptofolio.agents.classic`). Risk overlays follow the base after ``+``, each with its
own options: ``moderate+voltarget+ddbrake``, ``equal_weight+voltarget:vol=0.4+ddbrake:profile=moderate``
(see :mod:`cryptofolio.agents.overlays`).
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
from cryptofolio.agents.hedge import Hedge
from cryptofolio.agents.overlays import OVERLAYS
from cryptofolio.agents.risk_profiles import ProfileRule
from cryptofolio.envs import PROFILE_NAMES
from cryptofolio.envs.config import from_data
from cryptofolio.envs.errors import ConfigError

BASELINES: dict[str, tuple[type[Rule], dict[str, Any]]] = {
    **{name: (ProfileRule, {"profile": name}) for name in PROFILE_NAMES},
    **{f"{name}_regime": (ProfileRule, {"profile": name, "regime_aware": True}) for name in PROFILE_NAMES},
    **{f"{name}_hedge": (Hedge, {"profile": name}) for name in PROFILE_NAMES},
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
    base, *overlays = spec.strip().split("+")
    options_given = False
    try:
        name, kwargs = _parse(base, spec)
        if name not in BASELINES:
            raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)} (or all)")
        rule_class, fixed = BASELINES[name]
        rule = _build(name, rule_class, fixed, kwargs)
        options_given = bool(kwargs)
        for part in overlays:
            name, kwargs = _parse(part, spec)
            if name not in OVERLAYS:
                raise ConfigError(f"unknown overlay {name!r} after '+'; choose from {', '.join(OVERLAYS)}")
            rule = _build(name, OVERLAYS[name], {"base": rule}, kwargs)
            options_given = options_given or bool(kwargs)
    except ConfigError as error:
        raise ConfigError(f"baseline {spec.strip()!r}: {error}") from None
    if options_given:
        rule.name = re.sub(r"[^A-Za-z0-9.+]+", "_", spec.strip())
    return rule


def split_specs(text: str) -> list[str]:
    """Comma-separated specs as a list; a comma inside a spec's options stays in it
    (``moderate:band=0.1,adaptive_band=false,equal_weight`` is two specs)."""
    specs: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        head = piece.split("+")[0]
        if specs and "=" in head and ":" not in head:  # key=value: the previous spec's next option
            specs[-1] += "," + piece
        elif piece:
            specs.append(piece)
    return specs


def anchor_rule_spec(anchor: str | None, profile: str) -> str:
    """The rule spec a residual learner is anchored on: ``anchor`` (``EnvConfig.actions.anchor``) with
    the word ``profile`` opening its base replaced by ``profile`` (``profile_hedge`` is
    ``moderate_hedge`` for moderate); None: the profile itself."""
    if anchor is None:
        return profile
    base, plus, overlays = anchor.strip().partition("+")
    name, colon, options = base.partition(":")
    if name == "profile" or name.startswith("profile_"):
        name = profile + name.removeprefix("profile")
    return name + colon + options + plus + overlays


def _parse(part: str, spec: str) -> tuple[str, dict[str, Any]]:
    """``name:key=value,...`` as the name and its options."""
    name, _, options = part.strip().partition(":")
    kwargs = {}
    for option in filter(None, options.split(",")):
        key, sep, value = option.partition("=")
        if not sep:
            raise ConfigError(f"option {option!r} must be key=value")
        kwargs[key.strip()] = _value(value.strip())
    return name.strip(), kwargs


def _build(name: str, rule_class: type[Rule], fixed: dict[str, Any], kwargs: dict[str, Any]) -> Rule:
    allowed = set(inspect.signature(rule_class).parameters) - set(fixed) - {"name"}
    unknown = set(kwargs) - allowed
    if unknown:
        raise ConfigError(
            f"{name} has no option {', '.join(sorted(unknown))}; options: {', '.join(sorted(allowed))}"
        )
    if "base" in fixed:  # an overlay: its options are typed on a stand-in base, then built on the real one
        typed = from_data(rule_class, kwargs)
        return rule_class(**fixed, **{key: getattr(typed, key) for key in kwargs})
    return from_data(rule_class, {**fixed, **kwargs})


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
