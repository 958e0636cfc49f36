"""Block-bootstrap resamples of a market's history: new price paths with the same local dynamics.

Training on many resampled paths of the train split, instead of the one path it holds, leaves
less to memorize (which asset rose in which month) and more that can transfer (how assets
move together, how volatility clusters). Blocks of ``block`` consecutive bars keep
autocorrelation and volatility clusters up to that length; every asset takes the same
blocks, so cross-asset correlation is kept.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cryptofolio.envs.errors import ConfigError, DataError
from cryptofolio.envs.market import MarketData
from cryptofolio.envs.splits import Splits

HELD_OUT = 4  # the resample's last bars, as token validation and test splits the env requires


def block_bootstrap(
    market: MarketData, bars: range, *, block: int, n_bars: int, seed: int, min_history: int = 0
) -> tuple[MarketData, Splits]:
    """A market of ``n_bars`` bars whose price relatives are blocks drawn with replacement from ``bars``.

    Every asset takes the same blocks, so the blocks come from the bars where every resampled
    asset has a price: from the last listing among them. An asset that lists during ``bars``
    fewer than ``min_history`` bars before their end is not resampled (one listed two weeks
    before would leave two weeks to draw from): it stays unlisted in the resample, as do assets
    not listed by then.

    :param bars: the bars to resample (a train split).
    :param block: bars per block; :param n_bars: length of the resample; :param seed: its seed.
    :param min_history: bars an asset listing during ``bars`` must have traded by their end to be
        resampled.
    :return: the resampled market (starting at the first resampled bar's prices and time) and
        its splits: everything but the last four bars is train.
    """
    if n_bars < 2 * HELD_OUT:
        raise ConfigError(f"n_bars must be at least {2 * HELD_OUT}, got {n_bars}")
    listed = market.available[bars.stop - 1].copy()
    for asset, symbol in enumerate(market.symbols):
        listing = market.listing_bar(symbol)
        if listed[asset] and listing > bars.start and bars.stop - listing < min_history:
            listed[asset] = False
    listings = [market.listing_bar(s) for s, ok in zip(market.symbols, listed.tolist(), strict=True) if ok]
    first = max(bars.start, *listings)
    if block < 1 or block >= bars.stop - first:
        since, until = market.timestamps[first], market.timestamps[bars.stop - 1]
        raise DataError(
            f"block must be between 1 and {bars.stop - first - 1} bars, got {block}: the bootstrap draws "
            f"from {since:%Y-%m-%d} (the last listing) to {until:%Y-%m-%d}"
        )
    close = market.close[first : bars.stop][:, listed]
    relatives = close[1:] / close[:-1]
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(relatives) - block + 1, size=math.ceil((n_bars - 1) / block))
    drawn = relatives[(starts[:, None] + np.arange(block)).ravel()[: n_bars - 1]]
    path = np.full((n_bars, len(listed)), np.nan)
    path[:, listed] = close[0] * np.vstack([np.ones(len(close[0])), np.cumprod(drawn, axis=0)])
    resample = MarketData(
        timestamps=pd.date_range(market.timestamps[first], periods=n_bars, freq=market.freq),
        symbols=market.symbols,
        close=path,
        available=np.tile(listed, (n_bars, 1)),
        categories=market.categories,
        freq=market.freq,
        source=f"bootstrap({market.source}, bars {first}..{bars.stop - 1}, block {block}, seed {seed})",
    )
    last = n_bars - HELD_OUT
    return resample, Splits(
        train=range(0, last), validation=range(last, last + 2), test=range(last + 2, n_bars)
    )
