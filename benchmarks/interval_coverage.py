"""How often the reports' 95% intervals cover the truth, in simulation.

    .venv/bin/python benchmarks/interval_coverage.py                  # 400 paired simulations a setting
    .venv/bin/python benchmarks/interval_coverage.py --simulations 1000

Seeds: the mean of n runs drawn from a normal, n = 2, 3, 5, 10; the Student-t interval the reports
use (``seed_interval``) against a percentile bootstrap over the runs (what they used before).

Paired Sharpe difference: an agent's and its baseline's daily returns share a market factor
(correlation 0.8), each an AR(1) (coefficient 0.2) of Student-t innovations (3 degrees of freedom,
heavy tails) with a known mean and standard deviation, so the true annualized Sharpe ratios are
known (0.9 and 0.6 a year). Per setting (180 bars, a half-year fold; 1,000 bars; and 180 iid normal
bars for contrast) the circular block bootstrap of the reports (2,000 resamples, blocks of about the
cube root of the bars) gives the percentile interval and the bias-corrected one the reports use
(``paired_interval``). Prints each coverage with its binomial standard error and the machine, and
how often the bias-corrected rule gives no interval (the estimate outside its own bounds: counted
as a miss).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from cryptofolio.evaluation import metrics
from cryptofolio.evaluation.statistics import bias_corrected, paired_replicates, seed_interval, values_of

DAYS = 365.0
SHARPES = (0.9, 0.6)
"""True annualized Sharpe ratios of the agent and its baseline."""
VOLATILITY = 0.6 / np.sqrt(DAYS)
"""Daily standard deviation of each series (60% a year)."""


def ar_t(rng: np.random.Generator, n: int, phi: float, dof: float) -> np.ndarray:
    """(n,) an AR(1) with coefficient ``phi`` of Student-t innovations, scaled to unit variance."""
    innovations = rng.standard_t(dof, size=n + 200) * np.sqrt((dof - 2.0) / dof * (1.0 - phi**2))
    out = np.empty_like(innovations)
    out[0] = innovations[0] / np.sqrt(1.0 - phi**2)
    for t in range(1, len(out)):
        out[t] = phi * out[t - 1] + innovations[t]
    return out[200:]


def paired_returns(rng: np.random.Generator, n: int, heavy: bool) -> np.ndarray:
    """(n, 2) daily returns of the agent and its baseline with the known Sharpe ratios."""
    if heavy:
        market, own = ar_t(rng, n, 0.2, 3.0), ar_t(rng, n, 0.2, 3.0)
    else:
        market, own = rng.standard_normal(n), rng.standard_normal(n)
    agent = 0.8 * market + 0.6 * own
    means = [s / np.sqrt(DAYS) * VOLATILITY for s in SHARPES]
    return np.column_stack([means[0] + VOLATILITY * agent, means[1] + VOLATILITY * market])


def sharpe_difference(returns: np.ndarray) -> float:
    values = values_of(returns)
    return metrics.sharpe_ratio(values[:, 0], DAYS) - metrics.sharpe_ratio(values[:, 1], DAYS)


def seed_coverage(simulations: int, rng: np.random.Generator) -> None:
    print("seeds: coverage of the mean, 95% intervals")
    for n in (2, 3, 5, 10):
        samples = rng.normal(0.0, 1.0, size=(simulations, n))
        t_cover = np.mean([seed_interval(row).covers(0.0) for row in samples])
        draws = rng.integers(0, n, size=(simulations, 2_000, n))
        means = np.take_along_axis(samples[:, None, :], draws, axis=2).mean(axis=2)
        low, high = np.quantile(means, [0.025, 0.975], axis=1)
        percentile = np.mean((low <= 0.0) & (0.0 <= high))
        print(f"  n={n:>2}: t {t_cover:.3f}   percentile bootstrap {percentile:.3f}")


def paired_coverage(simulations: int, rng: np.random.Generator) -> None:
    truth = SHARPES[0] - SHARPES[1]
    print(f"paired Sharpe difference (truth {truth:+.2f} a year): coverage of 95% intervals, +- std error")
    for label, n, heavy in (
        ("180 bars, t(3) AR(1)", 180, True),
        ("1000 bars, t(3) AR(1)", 1000, True),
        ("180 bars, iid normal", 180, False),
    ):
        started, hits = time.perf_counter(), {"percentile": 0, "bias-corrected": 0, "none given": 0}
        for k in range(simulations):
            estimate, replicates = paired_replicates(
                sharpe_difference, paired_returns(rng, n, heavy), 2_000, seed=k
            )
            low, high = np.quantile(replicates, [0.025, 0.975])
            hits["percentile"] += bool(low <= truth <= high)
            corrected = bias_corrected(estimate, replicates)
            hits["bias-corrected"] += corrected.covers(truth)  # no interval given counts as a miss
            hits["none given"] += bool(np.isnan(corrected.low))
        error = np.sqrt(0.95 * 0.05 / simulations)
        shares = "   ".join(f"{name} {count / simulations:.3f}" for name, count in hits.items())
        print(f"  {label}: {shares}   (+-{error:.3f}; {time.perf_counter() - started:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--simulations", type=int, default=400, help="simulations per setting (400)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    rng = np.random.default_rng(0)
    seed_coverage(max(args.simulations, 4_000), rng)
    paired_coverage(args.simulations, rng)


if __name__ == "__main__":
    main()
