"""Calibrate the synthetic market's regime model on real daily closes; write configs/synthetic.yaml.

Run once by hand (the result is committed):

    .venv/bin/python tools/calibrate_synthetic.py ../shared/data/binance-daily > configs/synthetic.yaml

Method (fitting a generative model, so centered windows are fine here: no trading rule reads this):
1. Label each day from BTC: ``high_volatility`` if its centered 31-day realized volatility is in
   the top 20% of days; else ``bull`` / ``bear`` if its centered 61-day log return is above
   +0.15 / below -0.15; else ``sideways``. Runs shorter than 7 days join the run before them.
2. Transition matrix: counts of day-to-day label changes, normalised per row.
3. Per regime and asset: mean and std of daily log returns on the asset's listed days in that
   regime. With fewer than 60 such days, the asset's full-sample figures are scaled by BTC's
   regime-to-full-sample ratio on the asset's listed days (vol multiplicatively; mean as
   BTC's regime mean times the asset's vol ratio to BTC).
4. Correlations per regime, pairwise on common days (full sample below 60 common days), then
   projected to the nearest valid correlation matrix (eigenvalues clipped at 1e-3).
5. Student-t degrees of freedom: maximum likelihood on all standardized returns pooled.
"""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pandas as pd
from scipy import stats

from cryptofolio.envs import load_csv_dir

REGIMES = ("bull", "bear", "high_volatility", "sideways")
MIN_DAYS = 60
MIN_RUN = 7


def label_regimes(btc_close: pd.Series) -> pd.Series:
    """Regime name per day (NaN at the edges where the centered windows do not fit)."""
    log_price = np.log(btc_close)
    vol = log_price.diff().rolling(31, center=True).std()
    trend = log_price.shift(-30) - log_price.shift(30)
    labels = pd.Series(
        np.where(
            vol >= vol.quantile(0.8),
            "high_volatility",
            np.where(trend > 0.15, "bull", np.where(trend < -0.15, "bear", "sideways")),
        ),
        index=btc_close.index,
    )[vol.notna() & trend.notna()]
    values = labels.to_numpy().copy()
    changed = True
    while changed:  # merge short runs into the run before them
        changed = False
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        lengths = np.diff(np.r_[starts, len(values)])
        for start, length in zip(starts[1:], lengths[1:], strict=True):
            if length < MIN_RUN:
                values[start : start + length] = values[start - 1]
                changed = True
                break
    return pd.Series(values, index=labels.index)


def nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    fixed = vectors @ np.diag(np.clip(values, 1e-3, None)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)


def main(folder: str) -> None:
    market = load_csv_dir(folder)
    symbols = list(market.symbols[1:])
    returns = pd.DataFrame(
        np.log(market.close[1:] / market.close[:-1]), index=market.timestamps[1:], columns=market.symbols
    )[symbols]
    labels = label_regimes(pd.Series(market.close[:, market.column("BTC")], index=market.timestamps))
    returns = returns.loc[labels.index.intersection(returns.index)]
    labels = labels.loc[returns.index]

    codes = labels.map({r: k for k, r in enumerate(REGIMES)}).to_numpy()
    counts = np.zeros((len(REGIMES), len(REGIMES)))
    np.add.at(counts, (codes[:-1], codes[1:]), 1)
    transition = counts / counts.sum(axis=1, keepdims=True)

    mean = pd.DataFrame(index=REGIMES, columns=symbols, dtype=float)
    vol = mean.copy()
    for symbol in symbols:
        listed = returns[symbol].notna()
        btc = returns.loc[listed, "BTC"]
        for regime in REGIMES:
            days = listed & (labels == regime)
            if days.sum() >= MIN_DAYS:
                mean.loc[regime, symbol] = returns.loc[days, symbol].mean()
                vol.loc[regime, symbol] = returns.loc[days, symbol].std()
            else:
                btc_regime = returns.loc[labels == regime, "BTC"]
                ratio = returns.loc[listed, symbol].std() / btc.std()
                vol.loc[regime, symbol] = btc_regime.std() / btc.std() * returns.loc[listed, symbol].std()
                mean.loc[regime, symbol] = btc_regime.mean() * ratio
                print(f"# {symbol} {regime}: {int(days.sum())} days, scaled from BTC", file=sys.stderr)

    full_corr = returns.corr(min_periods=MIN_DAYS)
    correlation = {}
    for regime in REGIMES:
        corr = returns[labels == regime].corr(min_periods=MIN_DAYS).fillna(full_corr)
        correlation[regime] = nearest_correlation(corr.to_numpy())

    standardized = []
    for regime in REGIMES:
        block = returns[labels == regime]
        standardized.append(((block - mean.loc[regime]) / vol.loc[regime]).to_numpy().ravel())
    pooled = np.concatenate(standardized)
    pooled = pooled[np.isfinite(pooled)]
    df, _, _ = stats.t.fit(pooled, floc=0.0)

    def row(values: np.ndarray, digits: int = 5) -> str:
        return "[" + ", ".join(f"{v:.{digits}g}" for v in values) + "]"

    durations = 1.0 / (1.0 - np.diag(transition))
    out = [
        "# Regime model of the synthetic market (daily log returns). Generated, do not edit by hand:",
        f"#   .venv/bin/python tools/calibrate_synthetic.py {folder} > configs/synthetic.yaml",
        f"# Source: Binance spot daily closes in USDT, {returns.index[0].date()} to "
        f"{returns.index[-1].date()}"
        f" ({len(returns)} labelled days), calibrated on {dt.date.today().isoformat()}.",
        "# Method: see the docstring of tools/calibrate_synthetic.py.",
        "# Days per regime: " + ", ".join(f"{r} {int((labels == r).sum())}" for r in REGIMES),
        "# Expected run length (days): "
        + ", ".join(f"{r} {d:.1f}" for r, d in zip(REGIMES, durations, strict=True)),
        f"regimes: [{', '.join(REGIMES)}]",
        "transition:  # row: today's regime, column: tomorrow's, in the order of `regimes`",
        *[f"  - {row(r, 6)}" for r in transition],
        f"student_t_df: {df:.4g}",
        f"assets: [{', '.join(symbols)}]",
        "mean:  # per regime, per asset (order of `assets`)",
        *[f"  {r}: {row(mean.loc[r].to_numpy(float))}" for r in REGIMES],
        "volatility:",
        *[f"  {r}: {row(vol.loc[r].to_numpy(float))}" for r in REGIMES],
        "correlation:",
    ]
    for regime in REGIMES:
        out.append(f"  {regime}:")
        out.extend(f"    - {row(r, 3)}" for r in correlation[regime])
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/binance-daily")
