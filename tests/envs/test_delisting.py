"""Delisting: a position held past an asset's last price is worth its last close less the haircut and is
sold into cash at the next decision; it cannot be bought again; every kernel agrees."""

import numpy as np
import pytest

from cryptofolio.agents import ProfileRule
from cryptofolio.envs import PortfolioEnv
from cryptofolio.envs.profiles import profile_targets, risk_profile
from cryptofolio.envs.vector_env import BatchedPortfolioEnv
from tests.envs.test_differentiable import delisted_market
from tests.helpers import build_market, whole_market_splits

HALF = np.array([0.0, 0.5, 0.5])


def halves(env: PortfolioEnv, steps: int) -> list[dict]:
    """Ask for half BTC, half LUNA at every bar; the infos of each step."""
    env.reset(options={"start": env.first_start, "to_end": True})
    action = 2.0 * HALF / HALF.max() - 1.0
    return [env.step(action)[4] for _ in range(steps)]


def luna_market():
    return build_market({"BTC": [100.0] * 12, "LUNA": [*[10.0] * 6, *[np.nan] * 6]})  # LUNA's last bar: 5


def test_a_position_held_past_the_last_price_keeps_its_last_close_less_the_haircut_then_is_sold():
    market = luna_market()
    env = PortfolioEnv(market, split="train", splits=whole_market_splits(12, 8), window=2, fee=0.0,
                       delisting_haircut=0.5, episode_length=10)  # fmt: skip
    infos = halves(env, 5)  # steps at bars 2..6
    values = [info["portfolio_value"] for info in infos]
    # prices are flat; bar 5 is LUNA's last close: its half is worth a quarter at bar 6
    assert values == [1.0, 1.0, 1.0, 0.75, 0.75]
    np.testing.assert_allclose(infos[3]["drifted_weights"], HALF, atol=1e-15)  # held into its last bar
    # bar 6: LUNA is delisted; its weight goes to cash and what was held there is sold
    np.testing.assert_allclose(infos[4]["drifted_weights"], [0.0, 2 / 3, 1 / 3], atol=1e-15)
    np.testing.assert_allclose(infos[4]["weights"], [0.5, 0.5, 0.0], atol=1e-15)


def test_a_delisted_position_is_sold_even_inside_the_trade_band():
    market = luna_market()
    env = PortfolioEnv(market, split="train", splits=whole_market_splits(12, 8), window=2, fee=0.001,
                       trade_band=0.9, episode_length=10)  # fmt: skip
    infos = halves(env, 5)
    assert infos[1]["turnover"] == 0.0  # inside the band: no trade
    assert infos[4]["weights"][2] == 0.0 and infos[4]["turnover"] > 0.0  # bar 6: LUNA sold all the same


def test_the_batched_env_equals_the_scalar_one_through_a_delisting():
    market = delisted_market()
    options = {"residual": True, "trade_band": 0.05, "delisting_haircut": 0.2, "episode_length": 200}
    batched = BatchedPortfolioEnv(2, market, split="validation", **options)
    scalars = [PortfolioEnv(market, split="validation", **options) for _ in range(2)]
    start = scalars[0].first_start
    batched.set_options({"start": start, "to_end": True})
    batched.reset()
    for env in scalars:
        env.reset(options={"start": start, "to_end": True})
    rng = np.random.default_rng(0)
    for _ in range(scalars[0].split_bars.stop - 1 - start):
        actions = rng.uniform(-1, 1, size=(2, len(market.symbols)))
        _, rewards, _, _ = batched.step(actions)
        for i, env in enumerate(scalars):
            _, reward, _, _, info = env.step(actions[i])
            assert rewards[i] == pytest.approx(reward, abs=1e-12)
            assert batched.last_step["portfolio_value"][i] == pytest.approx(
                info["portfolio_value"], rel=1e-12
            )
    assert info["weights"][3] == 0.0  # after the delisting nothing is held in it


def test_a_profile_gives_a_delisted_assets_model_weight_to_its_category():
    market = build_market({"BTC": [1.0] * 4, "ETH": [1.0] * 4, "SOL": [1.0, 1.0, np.nan, np.nan]})
    moderate = risk_profile("moderate")
    before, after = (profile_targets(moderate, market.view(t)) for t in (1, 2))
    sol, eth = market.column("SOL"), market.column("ETH")
    assert before[sol] > 0 and after[sol] == 0.0
    assert after[eth] == pytest.approx(
        before[eth] + before[sol], abs=1e-12
    )  # same category, smart contract L1
    assert ProfileRule("moderate").target(market.view(3))[sol] == 0.0
