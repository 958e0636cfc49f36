"""Classic allocations as rules: cash, BTC only, buy and hold, equal weight, inverse volatility,
risk parity, minimum variance, and OLMAR (online moving-average reversion).

Periodic rules (equal weight and the estimated ones) set their weights on the episode's first
bar and on the first bar of each calendar period (monthly by default), and let them drift in
between. Estimated rules use log returns of the last ``lookback_days``; an asset takes part
once it has ``min_history_days`` of returns in that window (a new listing waits), and the
covariance is shrunk with Ledoit-Wolf, which matters most when the sample is short. With no
eligible asset they hold cash.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.covariance import LedoitWolf

from cryptofolio.agents.base import CALENDARS, Rule, all_cash, equal_weights, period_started
from cryptofolio.envs import MarketView
from cryptofolio.envs.errors import ConfigError, DataError

LOOKBACK_DAYS = 90
MIN_HISTORY_DAYS = 30


@dataclass
class Cash(Rule):
    """Everything in the stablecoin, always."""

    name: str = "cash"

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        return self.target(view)

    def target(self, view: MarketView) -> np.ndarray:
        return all_cash(len(view.symbols))


@dataclass
class BtcOnly(Rule):
    """Everything in BTC once it is listed (cash before)."""

    name: str = "btc_only"

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        return self.target(view)

    def target(self, view: MarketView) -> np.ndarray:
        if "BTC" not in view.symbols:
            raise DataError(f"btc_only needs BTC in the market, which has {', '.join(view.symbols)}")
        column = view.symbols.index("BTC")
        if not view.listed[column]:
            return all_cash(len(view.symbols))
        target = np.zeros(len(view.symbols))
        target[column] = 1.0
        return target


@dataclass
class BuyAndHold(Rule):
    """Equal weights across the listed assets on the first bar, then never trade."""

    name: str = "buy_and_hold"

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        return equal_weights(view.listed) if first else weights


@dataclass
class PeriodicRule(Rule):
    """Set weights on the first bar and at each new calendar period; drift in between."""

    calendar: str = "monthly"

    def __post_init__(self) -> None:
        if self.calendar not in CALENDARS:
            raise ConfigError(f"calendar must be one of {', '.join(CALENDARS)}, got {self.calendar!r}")

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        return self.allocate(view) if first or period_started(view, self.calendar) else weights

    def target(self, view: MarketView) -> np.ndarray:
        return self.allocate(view)

    @abstractmethod
    def allocate(self, view: MarketView) -> np.ndarray:
        """(N+1,) weights to set at the view's current bar."""


@dataclass
class EqualWeight(PeriodicRule):
    """Equal weights across the listed assets, rebalanced each period."""

    name: str = "equal_weight"

    def allocate(self, view: MarketView) -> np.ndarray:
        return equal_weights(view.listed)


@dataclass
class EstimatedRule(PeriodicRule):
    """A periodic rule whose weights come from recent returns of the eligible assets."""

    lookback_days: float = LOOKBACK_DAYS
    min_history_days: float = MIN_HISTORY_DAYS

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.min_history_days <= self.lookback_days:
            limit = f"(0, lookback_days={self.lookback_days}]"
            raise ConfigError(f"min_history_days must be in {limit}, got {self.min_history_days}")

    def allocate(self, view: MarketView) -> np.ndarray:
        returns = view.log_returns(view.bars(self.lookback_days))[:, 1:]
        finite = np.isfinite(returns)
        history = finite[::-1].cumprod(axis=0).sum(axis=0)  # unbroken recent returns per asset
        eligible = np.flatnonzero((history >= view.bars(self.min_history_days)) & view.listed[1:])
        if len(eligible) == 0:
            return all_cash(len(view.symbols))
        sample = returns[-int(history[eligible].min()) :, eligible]
        weights = np.ones(1) if len(eligible) == 1 else self.solve(sample)
        target = np.zeros(len(view.symbols))
        target[eligible + 1] = weights
        return target

    @abstractmethod
    def solve(self, returns: np.ndarray) -> np.ndarray:
        """(k,) long-only weights summing to one from (L, k) log returns of k >= 2 assets."""


@dataclass
class InverseVolatility(EstimatedRule):
    """Weights proportional to 1 / volatility."""

    name: str = "inverse_volatility"

    def solve(self, returns: np.ndarray) -> np.ndarray:
        inverse = 1.0 / returns.std(axis=0, ddof=1)
        return inverse / inverse.sum()


@dataclass
class RiskParity(EstimatedRule):
    """Equal risk contributions, long-only (Spinu's convex formulation)."""

    name: str = "risk_parity"

    def solve(self, returns: np.ndarray) -> np.ndarray:
        cov = shrunk_covariance(returns)
        n = len(cov)

        def objective(y: np.ndarray) -> tuple[float, np.ndarray]:
            return 0.5 * y @ cov @ y - np.log(y).sum() / n, cov @ y - 1.0 / (n * y)

        start = 1.0 / np.sqrt(np.diag(cov))
        result = minimize(
            objective, start / start.sum(), jac=True, method="L-BFGS-B", bounds=[(1e-12, None)] * n
        )
        if not result.success:
            raise RuntimeError(f"risk parity did not converge: {result.message}")
        return result.x / result.x.sum()


@dataclass
class MinVariance(EstimatedRule):
    """Minimum variance, long-only, on the shrunk covariance."""

    name: str = "min_variance"

    def solve(self, returns: np.ndarray) -> np.ndarray:
        cov = shrunk_covariance(returns)
        n = len(cov)
        result = minimize(
            lambda w: (w @ cov @ w, 2.0 * cov @ w),
            np.full(n, 1.0 / n),
            jac=True,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * n,
            constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones_like(w)}],
            options={"ftol": 1e-12, "maxiter": 500},
        )
        if not result.success:
            raise RuntimeError(f"minimum variance did not converge: {result.message}")
        weights = np.clip(result.x, 0.0, None)
        return weights / weights.sum()


def shrunk_covariance(returns: np.ndarray) -> np.ndarray:
    """(k, k) Ledoit-Wolf covariance of (L, k) returns, scaled to unit mean variance (conditioning)."""
    cov = LedoitWolf().fit(returns).covariance_
    return cov / np.mean(np.diag(cov))


@dataclass
class Olmar(Rule):
    """OLMAR-1 (Li and Hoi, 2012): move toward assets whose price is below its moving average.

    The predicted relative of each listed asset is ``MA_window(p) / p_t`` (cash: 1). The
    weights move from the current ones along the predicted relatives' deviation from their
    mean, just enough to expect a relative of ``epsilon``, then are projected on the simplex.
    It trades every bar.
    """

    name: str = "olmar"
    window: int = 5
    epsilon: float = 10.0

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ConfigError(f"window must be at least 2 bars, got {self.window}")
        if self.epsilon <= 0:
            raise ConfigError(f"epsilon must be positive, got {self.epsilon}")

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        listed = np.flatnonzero(view.listed)
        closes = view.close[-self.window :, listed]
        predicted = np.nanmean(closes, axis=0) / closes[-1]
        deviation = predicted - predicted.mean()
        spread = deviation @ deviation
        step = 0.0 if spread == 0.0 else max(0.0, (self.epsilon - weights[listed] @ predicted) / spread)
        target = np.zeros(len(view.symbols))
        target[listed] = project_to_simplex(weights[listed] + step * deviation)
        return target


def project_to_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of (k,) ``v`` on the probability simplex (Duchi et al., 2008)."""
    u = np.sort(v)[::-1]
    cumulative = np.cumsum(u) - 1.0
    rho = np.flatnonzero(u * np.arange(1, len(v) + 1) > cumulative)[-1]
    return np.maximum(v - cumulative[rho] / (rho + 1), 0.0)
