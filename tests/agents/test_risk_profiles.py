"""Risk-profile baselines: target weights, redistribution, drift bands, calendar, regimes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptofolio.agents import ProfileRule, profile_targets
from cryptofolio.agents.regimes import tilt
from cryptofolio.envs import PortfolioEnv, Splits, risk_profile
from cryptofolio.evaluation.backtest import run_backtest
from tests.helpers import build_market

C = 0.001
MODERATE = risk_profile("moderate")


def view_of(prices: dict[str, list[float]], t: int | None = None, **kwargs):
    market = build_market(prices, **kwargs)
    return market.view(market.n_bars - 1 if t is None else t)


def targets_by_symbol(profile: str, prices: dict[str, list[float]], t: int | None = None) -> dict[str, float]:
    view = view_of(prices, t)
    weights = profile_targets(risk_profile(profile), view)
    return {s: round(w, 12) for s, w in zip(view.symbols, weights, strict=True) if w > 0}


def test_moderate_on_its_full_universe_is_its_model_portfolio():
    prices = {s: [1.0, 1.0] for s in MODERATE.assets}
    expected = {"USDT": 0.12, **{s: w for s, w in MODERATE.weights.items() if s != "USDC"}}
    assert targets_by_symbol("moderate", prices) == pytest.approx(expected, abs=1e-12)


def test_both_stablecoins_go_to_cash():
    # Conservative on BTC and ETH: USDC 10 + USDT 5 in cash; SOL's 5 goes to ETH (same category);
    # LINK's 5 and UNI's 5 have no peer in their categories, so they go to cash too.
    weights = targets_by_symbol("conservative", {"BTC": [1, 1], "ETH": [1, 1]})
    assert weights == pytest.approx({"USDT": 0.25, "BTC": 0.45, "ETH": 0.30})


def test_missing_assets_go_pro_rata_to_their_category_else_to_cash():
    # Moderate with only BTC, ETH, LINK: SOL/AVAX/ATOM (L1, 15%) -> ETH; GRT (infra 4%) -> LINK;
    # AAVE (DeFi) and ARB (L2) have no peer -> cash with USDC.
    weights = targets_by_symbol("moderate", {"BTC": [1, 1], "ETH": [1, 1], "LINK": [1, 1]})
    assert weights == pytest.approx({"USDT": 0.12 + 0.05 + 0.04, "BTC": 0.35, "ETH": 0.35, "LINK": 0.09})


def test_an_asset_not_yet_listed_counts_as_missing_until_its_listing():
    prices = {s: [1.0, 1.0, 1.0] for s in MODERATE.assets}
    prices["ARB"] = [np.nan, np.nan, 1.0]
    assert "ARB" not in targets_by_symbol("moderate", prices, t=1)
    assert targets_by_symbol("moderate", prices, t=1)["USDT"] == pytest.approx(0.16)
    assert targets_by_symbol("moderate", prices, t=2)["ARB"] == pytest.approx(0.04)


def test_other_defi_weight_is_shared_by_unnamed_defi_assets_else_by_the_named_ones():
    base = {s: [1.0, 1.0] for s in risk_profile("aggressive").assets}
    assert targets_by_symbol("aggressive", {**base, "MKR": [1.0, 1.0]})["MKR"] == pytest.approx(0.04)
    without = targets_by_symbol("aggressive", base)
    assert without["UNI"] == pytest.approx(0.06 + 0.04 * 6 / 11)
    assert without["AAVE"] == pytest.approx(0.05 + 0.04 * 5 / 11)


@given(
    st.lists(st.booleans(), min_size=12, max_size=12),
    st.sampled_from(["conservative", "moderate", "aggressive"]),
)
def test_targets_always_sum_to_one(present, profile):
    universe = ["BTC", "ETH", "SOL", "AVAX", "NEAR", "ATOM", "LINK", "UNI", "AAVE", "ARB", "OP", "MKR"]
    chosen = [s for s, keep in zip(universe, present, strict=True) if keep] or ["DOGE"]
    weights = profile_targets(risk_profile(profile), view_of({s: [1.0, 1.0] for s in chosen}))
    assert weights.sum() == pytest.approx(1.0, abs=1e-12) and np.all(weights >= 0)


# --- drift bands on a hand-made market -----------------------------------------------------------

# Moderate with only BTC and ETH has targets cash 0.30, BTC 0.35, ETH 0.35. BTC rises 10% a
# bar three times from bar 2; ETH is flat. BTC's weight is 0.3945 after two rises (4.45
# points from target: no trade) and 0.4175 after three (6.7 points: trade, at bar 5).
BAND_MARKET = {
    "BTC": [100, 100, 100, 110, 121, 133.1, 133.1, 133.1, 133.1, 133.1, 133.1, 133.1],
    "ETH": [50.0] * 12,
}
TRAIN_TO_BAR_7 = Splits(train=range(0, 8), validation=range(8, 10), test=range(10, 12))


def band_run(**rule_options):
    env = PortfolioEnv(build_market(BAND_MARKET), splits=TRAIN_TO_BAR_7, split="train", window=2, fee=C)
    return run_backtest(ProfileRule("moderate", adaptive_band=False, **rule_options), env)


def test_a_profile_trades_exactly_when_the_band_is_crossed():
    result = band_run()
    traded = [int(bar) for bar in np.flatnonzero(result.turnover > 1e-12) + 2]  # the run starts at bar 2
    assert traded == [2, 5]
    assert result.turnover[[1, 2, 4, 5]].max() < 1e-12  # holds between: no trade, no cost
    assert result.fees[[1, 2, 4, 5]].max() < 1e-15


def test_a_profile_run_matches_a_hand_computed_ledger():
    result = band_run()
    mu_buy = 1 / (1 + 0.7 * C)  # from all cash: buys only, on 70% of the value
    growth = [1.0, 1.1, 1.21, 1.331]
    held = [mu_buy * (0.30 + 0.35 * g + 0.35) for g in growth]  # bars 2..5, before trading
    # Bar 5: sell BTC down to 0.35 mu, buy ETH up to 0.35 mu; the mu terms cancel:
    # mu = 1 - c (w~_BTC - w~_ETH) with w~ = (0.30, 0.35 g, 0.35) / (0.65 + 0.35 g).
    g = 1.331
    mu_rebalance = 1 - C * (0.35 * g - 0.35) / (0.65 + 0.35 * g)
    after = held[3] * mu_rebalance
    expected = [1.0, *held[1:], after, after]  # bars 2..7; prices are flat after bar 5
    np.testing.assert_allclose(result.values, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.weights_after[3], [0.30, 0.35, 0.35], atol=1e-12)


def test_a_wider_band_waits():
    assert band_run(band=0.10).turnover[1:].max() < 1e-12


def test_calendar_mode_rebalances_on_the_first_bar_of_each_month():
    market = build_market({"BTC": list(np.linspace(100, 200, 70)), "ETH": [50.0] * 70}, start="2024-01-20")
    env = PortfolioEnv(market, splits=Splits(range(0, 60), range(60, 65), range(65, 70)), window=2, fee=C)
    result = run_backtest(ProfileRule("moderate", adaptive_band=False, calendar="monthly"), env)
    traded = result.timestamps[result.turnover > 1e-12]
    assert [f"{t:%m-%d}" for t in traded] == ["01-22", "02-01", "03-01"]


def test_the_band_widens_in_high_volatility():
    calm, wild = 0.01, 0.08  # BTC alternates +-1% for a year, then +-8% for a month
    steps = np.r_[np.tile([calm, -calm], 200), np.tile([wild, -wild], 15)]
    btc = 100 * np.exp(np.r_[0.0, np.cumsum(steps)])
    view = view_of({"BTC": list(btc), "ETH": [50.0] * len(btc)})
    target = profile_targets(MODERATE, view)
    drifted = target + np.array([-0.07, 0.07, 0.0])  # 7 points off: beyond 5, within 10
    assert ProfileRule("moderate").target_weights(view, drifted, first=False) is drifted
    np.testing.assert_array_equal(
        ProfileRule("moderate", adaptive_band=False).target_weights(view, drifted, first=False), target
    )


def test_the_regime_tilt_in_a_bear_market_adds_btc_and_cash():
    target = np.array([0.12, 0.35, 0.20, 0.33])
    tilted = tilt(target, "bear", ("USDT", "BTC", "ETH", "SOL"))
    moved = 0.5 * (0.20 + 0.33)
    np.testing.assert_allclose(tilted, [0.12 + moved / 2, 0.35 + moved / 2, 0.10, 0.165], atol=1e-12)


@pytest.mark.parametrize(
    ("options", "message"), [({"band": 0.0}, "band must be in"), ({"calendar": "daily"}, "calendar must be")]
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        ProfileRule("moderate", **options)
