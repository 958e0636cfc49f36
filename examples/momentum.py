"""A policy of your own, evaluated like the project's: equal weights on the assets that rose.

    cryptofolio evaluate --policy examples/momentum.py:Momentum --baselines moderate,equal_weight \\
        --out reports/momentum

Any :class:`~cryptofolio.agents.Rule` (or object with stable-baselines3's ``predict``) goes through
the same ledger, costs, report and statistics as the baselines and trained agents.
"""

import numpy as np

from cryptofolio.agents import Rule
from cryptofolio.envs import MarketView


class Momentum(Rule):
    """Every ``every`` bars, equal weights on the listed assets whose close rose over the last
    ``days`` bars; all cash when none did. Between those bars it holds what it has."""

    name = "momentum"

    def __init__(self, days: int = 30, every: int = 7) -> None:
        self.days, self.every = days, every

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        if not first and view.t % self.every:
            return weights  # not a trading bar: hold
        target = np.zeros(len(view.symbols))
        if view.t >= self.days:
            now, past = view.close[-1], view.close[-1 - self.days]
            rising = view.available[-1] & view.available[-1 - self.days] & (now > past)
            rising[0] = False  # cash is not an asset that rises
            target[rising] = 1.0 / max(rising.sum(), 1)
        target[0] = 1.0 - target[1:].sum()
        return target
