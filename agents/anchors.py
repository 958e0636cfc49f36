"""Residual learners anchored on any rule: the rule's target at every bar, and the env that tilts it.

``EnvConfig.actions.anchor`` names the rule (``profile+voltarget+ddbrake``); the env knows no policy,
so the weights are computed here, from :meth:`~cryptofolio.agents.base.Rule.target` at each bar
(the market up to that bar only), and handed to :class:`~cryptofolio.envs.PortfolioEnv`. With the
zero action the env then trades to the rule's target whenever some weight is the env's
``trade_band`` away from it: the rule itself, when the band is the rule's.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from cryptofolio.agents.base import Rule
from cryptofolio.agents.baselines import anchor_rule_spec, make_baseline
from cryptofolio.envs import MarketData, PortfolioEnv
from cryptofolio.envs.config import EnvConfig

_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_CACHE_SIZE = 8


def anchor_weights(rule: Rule, market: MarketData) -> np.ndarray:
    """(T, N+1) the rule's target at every bar of ``market``, read-only."""
    out = np.empty(market.close.shape)
    for t in range(market.n_bars):
        out[t] = rule.target(market.view(t))
    out.setflags(write=False)
    return out


def anchor_of(config: EnvConfig, profile: str, market: MarketData) -> np.ndarray | None:
    """The weights of the rule ``config.actions.anchor`` names for ``profile``, or None (no rule named).

    Computed once per rule and market content in a process (the batched env's copies share them).
    """
    if not config.actions.residual or config.actions.anchor is None:
        return None
    spec = anchor_rule_spec(config.actions.anchor, profile)
    key = (spec, market.fingerprint())
    if key not in _CACHE:
        _CACHE[key] = anchor_weights(make_baseline(spec), market)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return _CACHE[key]


def anchored_env(
    market: MarketData, *, profile: str = "moderate", config: EnvConfig | None = None, **kwargs: Any
) -> PortfolioEnv:
    """``PortfolioEnv(market, profile=profile, config=config, **kwargs)`` with its anchor rule's weights."""
    config = config or EnvConfig()
    return PortfolioEnv(
        market, profile=profile, config=config, anchor=anchor_of(config, profile, market), **kwargs
    )
