"""A known-parameter reference policy for synthetic markets: how well could one do at all?

It knows the market's true regime model and the current bar's true regime (never a later
one: it reads them from the view). For each current regime it holds the long-only portfolio
that maximizes the expected log growth of the next bar, with the next regime drawn from the
transition row and returns from that regime's multivariate Student-t, by Monte Carlo. It
pays the same fees as everyone through the same ledger, and trades only when the regime
changes or a weight drifts ``band`` or more from its target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from cryptofolio.agents.base import Rule
from cryptofolio.envs import MarketView, RegimeModel

SAMPLES = 20_000


@dataclass
class GrowthOptimal(Rule):
    """The growth-optimal long-only portfolio under the true regime model.

    :param model: the market's regime model (``market.truth.model``), risky assets in column order.
    :param band: drift from target, in weight, that triggers a rebalance between regime changes.
    :param seed: seed of the Monte Carlo draws.
    """

    model: RegimeModel
    band: float = 0.05
    seed: int = 0
    name: str = "reference"
    targets: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.targets = np.array([self._optimal(k, rng) for k in range(len(self.model.regimes))])

    def _optimal(self, regime: int, rng: np.random.Generator) -> np.ndarray:
        """(N+1,) weights maximizing the mean log growth over draws of the next bar's returns."""
        model = self.model
        following = rng.choice(len(model.regimes), size=SAMPLES, p=model.transition[regime])
        normal = rng.standard_normal((SAMPLES, len(model.assets)))
        scale = np.sqrt((model.df - 2.0) / rng.chisquare(model.df, size=SAMPLES))[:, None]
        excess = np.zeros((SAMPLES, len(model.assets) + 1))  # simple returns; cash earns 0
        for k in range(len(model.regimes)):
            rows = following == k
            shocks = normal[rows] @ np.linalg.cholesky(model.correlation[k]).T * scale[rows]
            excess[rows, 1:] = np.expm1(model.mean[k] + model.volatility[k] * shocks)

        def negative_growth(w: np.ndarray) -> tuple[float, np.ndarray]:
            gross = 1.0 + excess @ w
            return -float(np.mean(np.log(gross))), -(excess / gross[:, None]).mean(axis=0)

        n = excess.shape[1]
        result = minimize(
            negative_growth,
            np.full(n, 1.0 / n),
            jac=True,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * n,
            constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones_like(w)}],
            options={"ftol": 1e-12, "maxiter": 500},
        )
        if not result.success:
            raise RuntimeError(
                f"growth-optimal weights for regime {model.regimes[regime]} failed: {result.message}"
            )
        weights = np.clip(result.x, 0.0, None)
        return weights / weights.sum()

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        if view.regimes is None:
            raise ValueError("the reference policy needs a synthetic market (it reads the true regime)")
        target = self.targets[view.regimes[-1]]
        changed = view.t > 0 and view.regimes[-1] != view.regimes[-2]
        if first or changed or np.max(np.abs(weights - target)) >= self.band:
            return target
        return weights
