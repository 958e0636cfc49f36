"""Diversification checks of the risk-profile guidance: on a backtest's weights, or on one portfolio.

Thresholds come from ``configs/profiles.yaml`` (``diversification``): average pairwise
correlation of the held assets below 0.75, no category above 40% of the portfolio, 8 to 15
positions, and no cluster of assets that move together (every pair correlated at least
0.80) above 40%.

:func:`diagnose_weights` checks one set of weights at one bar, from the returns of the
trailing window ending there, and adds each asset's contribution to portfolio risk and the
portfolio's volatility and correlation to BTC, next to the profile's expected figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from cryptofolio import configs
from cryptofolio.envs import MarketData, risk_profile
from cryptofolio.envs.errors import ConfigError, DataError
from cryptofolio.evaluation.backtest import BacktestResult

HELD = 0.01  # a position counts when its average weight is at least 1%
WINDOW = 90
"""Bars of returns behind correlations and risk contributions, by default."""


def correlation(market: MarketData, bars: range) -> pd.DataFrame:
    """Pairwise correlation of the risky assets' daily log returns over ``bars`` (listed days only)."""
    close = market.close[bars.start : bars.stop, 1:]
    returns = pd.DataFrame(np.log(close[1:] / close[:-1]), columns=list(market.symbols[1:]))
    return returns.corr(min_periods=20)


def average_correlation(matrix: pd.DataFrame) -> float:
    """Mean of the off-diagonal pairwise correlations (NaN with fewer than two assets)."""
    values = matrix.to_numpy()
    off_diagonal = values[~np.eye(len(values), dtype=bool)]
    off_diagonal = off_diagonal[np.isfinite(off_diagonal)]
    return float(off_diagonal.mean()) if len(off_diagonal) else float("nan")


def category_shares(weights: np.ndarray, categories: tuple[str, ...]) -> dict[str, float]:
    """Share of the portfolio in each category (cash counts as ``stablecoin``)."""
    shares: dict[str, float] = {}
    for weight, category in zip(weights, categories, strict=True):
        shares[category] = shares.get(category, 0.0) + float(weight)
    return shares


def diversification(result: BacktestResult, market: MarketData, bars: range) -> dict[str, Any]:
    """The guidance's checks on a run's average weights over the evaluated period."""
    limits = configs.read("profiles")["diversification"]
    mean_weights = result.weights_after[:-1].mean(axis=0)
    held = [s for s, w in zip(market.symbols[1:], mean_weights[1:], strict=True) if w >= HELD]
    corr = correlation(market, bars).loc[held, held] if len(held) > 1 else pd.DataFrame()
    shares = category_shares(mean_weights, market.categories)
    largest = max(shares, key=lambda k: shares[k])
    positions = int((mean_weights >= HELD).sum())
    low, high = limits["positions"]
    avg_corr = average_correlation(corr) if len(held) > 1 else float("nan")
    return {
        "average_correlation": avg_corr,
        "correlation_ok": bool(avg_corr < limits["max_average_correlation"])
        if np.isfinite(avg_corr)
        else True,
        "largest_category": largest,
        "largest_category_share": shares[largest],
        "category_ok": shares[largest] <= limits["max_category_share"],
        "positions": positions,
        "positions_ok": low <= positions <= high,
    }


@dataclass(frozen=True)
class Cluster:
    """Held risky assets that move together: every pairwise correlation at least the threshold.

    :param symbols: the assets; :param weight: their combined weight in the portfolio;
    :param min_correlation: the lowest pairwise correlation among them.
    """

    symbols: tuple[str, ...]
    weight: float
    min_correlation: float


@dataclass(frozen=True)
class PortfolioDiagnostics:
    """The guidance's checks on one portfolio, from the returns of a trailing window.

    :param symbols: (N+1,) cash first; :param weights: (N+1,) the weights checked.
    :param date: the window's last bar; :param window: bars of returns used.
    :param average_correlation: mean pairwise correlation of the held risky assets (NaN with
        fewer than two).
    :param clusters: groups of held risky assets correlated at least ``cluster_correlation``.
    :param category_shares: category -> share of the portfolio (cash is ``stablecoin``).
    :param positions: holdings of at least 1%, cash included.
    :param risk_contributions: (N+1,) each asset's contribution to the annualized portfolio
        volatility, ``w_i (S w)_i / sqrt(w' S w)`` for the annualized covariance ``S``;
        they sum to ``volatility``.
    :param volatility: annualized volatility of the portfolio at these weights.
    :param btc_correlation: correlation of the portfolio's returns with BTC's (NaN without BTC).
    :param profile: the risk profile whose expected figures are shown.
    :param expected_volatility: the profile's expected annualized volatility.
    :param expected_btc_correlation: the profile's expected correlation to BTC.
    :param flags: the checks that fail, as sentences (empty if all pass).
    """

    symbols: tuple[str, ...]
    weights: np.ndarray
    date: pd.Timestamp
    window: int
    average_correlation: float
    clusters: list[Cluster]
    category_shares: dict[str, float]
    positions: int
    risk_contributions: np.ndarray
    volatility: float
    btc_correlation: float
    profile: str
    expected_volatility: float
    expected_btc_correlation: float
    flags: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: per-asset weights and risk contributions keyed by symbol."""
        return {
            "date": f"{self.date:%Y-%m-%dT%H:%M:%SZ}",
            "window": self.window,
            "weights": dict(zip(self.symbols, self.weights.tolist(), strict=True)),
            "risk_contributions": dict(zip(self.symbols, self.risk_contributions.tolist(), strict=True)),
            "volatility": self.volatility,
            "btc_correlation": _finite_or_none(self.btc_correlation),
            "average_correlation": _finite_or_none(self.average_correlation),
            "clusters": [
                {"symbols": list(c.symbols), "weight": c.weight, "min_correlation": c.min_correlation}
                for c in self.clusters
            ],
            "category_shares": self.category_shares,
            "positions": self.positions,
            "profile": self.profile,
            "expected_volatility": self.expected_volatility,
            "expected_btc_correlation": self.expected_btc_correlation,
            "flags": self.flags,
        }


def window_returns(market: MarketData, bar: int, window: int) -> pd.DataFrame:
    """(window, N+1) simple returns of the bars ``bar - window + 1 .. bar`` (NaN where not listed)."""
    if window < 2:
        raise ConfigError(f"window must be at least 2 bars, got {window}")
    if bar < window:
        raise DataError(
            f"a window of {window} bars needs {window} bars before {market.timestamps[bar]:%Y-%m-%d %H:%M}; "
            f"the market starts at {market.timestamps[0]:%Y-%m-%d %H:%M} (use a shorter window)"
        )
    close = market.close[bar - window : bar + 1]
    return pd.DataFrame(
        close[1:] / close[:-1] - 1.0,
        index=market.timestamps[bar - window + 1 : bar + 1],
        columns=market.symbols,
    )


def risk_contributions(weights: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, float]:
    """Each asset's contribution to portfolio volatility, and that volatility.

    :param weights: (M,); :param covariance: (M, M), annualized.
    :return: ``(w_i (S w)_i / sigma, sigma)`` with ``sigma = sqrt(w' S w)``; the contributions
        sum to ``sigma`` (Euler's theorem for a homogeneous risk measure). All zero if sigma is.
    """
    marginal = covariance @ weights
    sigma = float(np.sqrt(max(float(weights @ marginal), 0.0)))
    if sigma == 0.0:
        return np.zeros_like(weights), 0.0
    return weights * marginal / sigma, sigma


def correlation_clusters(corr: pd.DataFrame, threshold: float) -> list[tuple[str, ...]]:
    """Groups of two or more assets whose every pairwise correlation is at least ``threshold``.

    Complete-linkage hierarchical clustering on the distance ``1 - correlation``, cut at
    ``1 - threshold``; largest groups first.
    """
    if len(corr) < 2:
        return []
    distance = np.clip(1.0 - np.nan_to_num(corr.to_numpy(), nan=-1.0), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="complete")
    labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
    groups = [tuple(corr.index[labels == label]) for label in np.unique(labels)]
    return sorted((g for g in groups if len(g) > 1), key=len, reverse=True)


def diagnose_weights(
    market: MarketData, bar: int, weights: np.ndarray, window: int = WINDOW, profile: str = "moderate"
) -> PortfolioDiagnostics:
    """The guidance's checks on ``weights`` held at ``bar``, from the returns of the last ``window`` bars.

    Only prices up to ``bar`` are read. Correlations are of simple returns over the window,
    between the risky assets held at 1% or more.

    :param weights: (N+1,) non-negative, summing to one, cash first.
    :raises DataError: if a held asset has fewer than two returns in the window.
    """
    limits = configs.read("profiles")["diversification"]
    symbols = market.symbols
    returns = window_returns(market, bar, window)
    covariance = returns.cov(min_periods=2).to_numpy() * market.periods_per_year
    held = weights >= HELD
    short = [
        s for s, h, v in zip(symbols, held, np.diag(covariance), strict=True) if h and not np.isfinite(v)
    ]
    if short:
        raise DataError(
            f"{', '.join(short)} {'has' if len(short) == 1 else 'have'} fewer than 2 returns in the "
            f"{window} bars to {market.timestamps[bar]:%Y-%m-%d}; use a shorter window"
        )
    contributions, volatility = risk_contributions(weights, np.nan_to_num(covariance))
    risky = [s for s, h in zip(symbols[1:], held[1:], strict=True) if h]
    corr = returns[risky].corr(min_periods=2)
    threshold = float(limits["cluster_correlation"])
    clusters = []
    for group in correlation_clusters(corr, threshold):
        inside = corr.loc[list(group), list(group)].to_numpy()
        clusters.append(
            Cluster(
                symbols=group,
                weight=float(sum(weights[symbols.index(s)] for s in group)),
                min_correlation=float(inside[~np.eye(len(group), dtype=bool)].min()),
            )
        )
    portfolio = returns.fillna(0.0).to_numpy() @ weights
    btc_correlation = (
        float(np.corrcoef(portfolio, returns["BTC"].fillna(0.0))[0, 1])
        if "BTC" in symbols and np.std(portfolio) > 0
        else float("nan")
    )
    spec = risk_profile(profile)
    diagnostics = PortfolioDiagnostics(
        symbols=symbols,
        weights=np.asarray(weights, dtype=float),
        date=market.timestamps[bar],
        window=window,
        average_correlation=average_correlation(corr) if len(risky) > 1 else float("nan"),
        clusters=clusters,
        category_shares=category_shares(weights, market.categories),
        positions=int(held.sum()),
        risk_contributions=contributions,
        volatility=volatility,
        btc_correlation=btc_correlation,
        profile=spec.name,
        expected_volatility=spec.expected_volatility,
        expected_btc_correlation=spec.expected_btc_correlation,
        flags=[],
    )
    diagnostics.flags.extend(_flags(diagnostics, limits))
    return diagnostics


def _flags(d: PortfolioDiagnostics, limits: dict[str, Any]) -> list[str]:
    flags = []
    if np.isfinite(d.average_correlation) and d.average_correlation >= limits["max_average_correlation"]:
        flags.append(
            f"average pairwise correlation {d.average_correlation:.2f} is not below "
            f"{limits['max_average_correlation']}"
        )
    for category, share in d.category_shares.items():
        if share > limits["max_category_share"] + 1e-12:
            flags.append(
                f"{category} holds {share:.0%} of the portfolio (limit {limits['max_category_share']:.0%})"
            )
    low, high = limits["positions"]
    if not low <= d.positions <= high:
        flags.append(f"{d.positions} positions of 1% or more (guidance: {low} to {high})")
    for cluster in d.clusters:
        if cluster.weight > limits["max_cluster_share"] + 1e-12:
            flags.append(
                f"{', '.join(cluster.symbols)} move together (every pair correlates at least "
                f"{cluster.min_correlation:.2f}) and hold {cluster.weight:.0%}: false diversification "
                f"(limit {limits['max_cluster_share']:.0%})"
            )
    return flags


def format_diagnostics(columns: dict[str, PortfolioDiagnostics]) -> str:
    """Diagnostics of one or more weightings of the same assets (e.g. current and target) as text."""
    first = next(iter(columns.values()))
    rows = {}
    for name, d in columns.items():
        rows[f"{name} weight"] = d.weights
        rows[f"{name} risk share"] = (
            d.risk_contributions / d.volatility if d.volatility > 0 else np.zeros_like(d.weights)
        )
    table = pd.DataFrame(rows, index=list(first.symbols)).map(lambda v: f"{v:.1%}")
    lines = [
        f"Diagnostics over the {first.window} bars to {first.date:%Y-%m-%d %H:%M} "
        f"(profile {first.profile}: expected volatility {first.expected_volatility:.0%}, "
        f"correlation to BTC {first.expected_btc_correlation:.2f})",
        table.to_string(),
    ]
    for name, d in columns.items():
        clusters = "; ".join(f"{'+'.join(c.symbols)} {c.weight:.0%}" for c in d.clusters) or "none"
        shares = sorted(((v, k) for k, v in d.category_shares.items() if v > 0), reverse=True)
        categories = ", ".join(f"{k} {v:.0%}" for v, k in shares)
        lines += [
            f"{name}: volatility {d.volatility:.0%}, correlation to BTC {d.btc_correlation:.2f}, "
            f"average pairwise correlation {d.average_correlation:.2f}, {d.positions} positions",
            f"  categories: {categories}",
            f"  correlated clusters: {clusters}",
            *[f"  FLAG {flag}" for flag in d.flags],
        ]
    return "\n".join(lines)


def _finite_or_none(value: float) -> float | None:
    return value if np.isfinite(value) else None
