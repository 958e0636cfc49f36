"""No look-ahead: changing every price after bar t changes nothing observed up to bar t."""

from dataclasses import replace

import numpy as np
import pytest

from cryptofolio.envs import MarketData, PortfolioEnv, Splits, build_features, synthetic_market

WINDOW = 10


def with_future_changed(market: MarketData, t: int, seed: int = 0) -> MarketData:
    """The same market, with every price after bar t multiplied by a random factor."""
    rng = np.random.default_rng(seed)
    close = market.close.copy()
    close[t + 1 :, 1:] *= rng.uniform(0.2, 5.0, size=close[t + 1 :, 1:].shape)
    return replace(market, close=close)


@pytest.fixture(scope="module")
def market() -> MarketData:
    base = synthetic_market(seed=5, n_bars=200)
    close = base.close.copy()
    available = base.available.copy()
    available[:60, 3] = False  # one asset lists at bar 60
    close[:60, 3] = np.nan
    return replace(base, close=close, available=available)


@pytest.mark.parametrize("kind", ["window", "summary"])
@pytest.mark.parametrize("t", [WINDOW, 59, 60, 61, 120, 198])
def test_features_up_to_t_ignore_prices_after_t(market, t, kind):
    now = build_features(market, WINDOW, kind)
    changed = build_features(with_future_changed(market, t), WINDOW, kind)
    np.testing.assert_array_equal(now.returns[: t + 1], changed.returns[: t + 1])
    np.testing.assert_array_equal(now.table[: t + 1], changed.table[: t + 1])
    np.testing.assert_array_equal(now.listed[: t + 1], changed.listed[: t + 1])
    assert not np.array_equal(now.returns[t + 1 :], changed.returns[t + 1 :])  # the change is real


@pytest.mark.parametrize("objective", ["log_growth", "differential_sharpe"])
@pytest.mark.parametrize("observation", ["window", "summary"])
@pytest.mark.parametrize("t", [WINDOW + 1, 60, 61, 150, 195])
def test_env_observations_and_rewards_up_to_t_ignore_prices_after_t(market, t, observation, objective):
    splits = Splits(train=range(0, 196), validation=range(196, 198), test=range(198, 200))
    runs = []
    for m in (market, with_future_changed(market, t)):
        env = PortfolioEnv(
            m,
            splits=splits,
            window=WINDOW,
            features=observation,
            drawdown_tolerance=0.0,
            turnover_penalty=0.1,
            objective=objective,
        )
        obs, _ = env.reset(options={"start": WINDOW, "to_end": True})
        rng = np.random.default_rng(1)
        seen, rewards = [obs], []
        for _ in range(WINDOW, t):  # the steps ending at bars WINDOW+1 .. t
            obs, reward, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape))
            seen.append(obs)
            rewards.append(reward)
        runs.append((np.array(seen), np.array(rewards)))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
