"""`recommend`: orders and fees by hand, the env's own observation, every baseline, trained runs."""

import json
import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from cryptofolio.agents import BASELINES, ProfileRule, make_baseline
from cryptofolio.agents.anchors import anchored_env
from cryptofolio.agents.ensemble import EnsemblePolicy
from cryptofolio.cli import main
from cryptofolio.envs import EnvConfig, MarketConfig, PortfolioEnv, action_to_weights, synthetic_market
from cryptofolio.envs.errors import ConfigError
from cryptofolio.evaluation.backtest import run_backtest
from cryptofolio.evaluation.holdings import read_holdings
from cryptofolio.evaluation.recommend import format_recommendation, recommend
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train
from tests.helpers import build_market, tiny_overrides, whole_market_splits


def two_asset_market(n_bars: int = 40):
    """BTC and ETH on a gentle random walk that closes at 100 and 10 on the last bar."""
    rng = np.random.default_rng(0)
    paths = np.cumprod(1 + rng.normal(0, 0.01, (n_bars, 2)), axis=0)
    paths /= paths[-1]
    return build_market({"BTC": list(100 * paths[:, 0]), "ETH": list(10 * paths[:, 1])})


def holdings_file(tmp_path, quantities: dict[str, float]):
    path = tmp_path / "holdings.json"
    path.write_text(json.dumps(quantities))
    return read_holdings(path)


def test_a_profile_recommendation_matches_a_hand_computation(tmp_path):
    market = two_asset_market()
    holdings = holdings_file(tmp_path, {"BTC": 6, "ETH": 20, "USDT": 200})  # 600 + 200 + 200 = 1000
    rec = recommend(make_baseline("moderate"), holdings, market, 39, diagnostics_window=20)
    # Moderate on BTC and ETH only: the missing L1s' 15% go to ETH; LINK, GRT, AAVE and ARB
    # (no peers here) go to cash with the 12% of USDC.
    np.testing.assert_allclose(rec.model, [0.30, 0.35, 0.35], atol=1e-12)
    np.testing.assert_allclose(rec.weights, [0.2, 0.6, 0.2], atol=1e-12)
    assert rec.band == 0.05 and rec.rebalance_due and rec.regime == "neutral"
    # mu = 1 - c (|0.35 mu - 0.6| + |0.35 mu - 0.2|) = 1 - 0.001 * 0.4 = 0.9996
    assert rec.fees == pytest.approx(0.4, abs=1e-12)
    assert rec.value_after == pytest.approx(999.6, abs=1e-12)
    assert rec.turnover == pytest.approx(0.4, abs=1e-12)  # sold 250.14 of BTC, bought 149.86 of ETH
    np.testing.assert_allclose(rec.order_values, [99.88, 349.86 - 600, 349.86 - 200], atol=1e-9)
    np.testing.assert_allclose(rec.orders, [99.88, -2.5014, 14.986], atol=1e-12)
    after = rec.quantities + rec.orders
    values = after * rec.prices
    assert values.sum() == pytest.approx(rec.value_after, abs=1e-9)
    np.testing.assert_allclose(values / values.sum(), rec.target, atol=1e-12)


def test_within_the_band_the_profile_keeps_the_holdings(tmp_path):
    market = two_asset_market()
    holdings = holdings_file(tmp_path, {"BTC": 3.3, "ETH": 36, "USDT": 310})  # 330 + 360 + 310
    rec = recommend(make_baseline("moderate"), holdings, market, 39, diagnostics_window=20)
    assert not rec.rebalance_due and rec.fees == 0.0 and rec.turnover == 0.0
    np.testing.assert_array_equal(rec.target, rec.weights)
    np.testing.assert_array_equal(rec.orders, np.zeros(3))
    forced = recommend(
        make_baseline("moderate"), holdings, market, 39, rebalance_now=True, diagnostics_window=20
    )
    np.testing.assert_allclose(forced.target, [0.30, 0.35, 0.35], atol=1e-12)
    assert forced.fees > 0


def falling_market(low: float):
    """BTC and ETH in lockstep (so any mix's index is BTC's price over 100): flat at 100 for 20 days,
    120 on 2024-01-21 (bar 20), then a straight fall to ``low`` on 2024-02-09 (bar 39)."""
    path = [100.0] * 20 + list(np.linspace(120.0, low, 20))
    return build_market({"BTC": path, "ETH": [p / 10 for p in path]})


MODERATE_FLOOR = 0.355560
"""The brake's level for moderate's 35% at margin 0.6: the root b of -ln(1 - b) / b - 1 = -ln(1 - 0.21)."""


def test_the_brakes_floor_is_the_root_of_its_loss_bound():
    rule = make_baseline("moderate+ddbrake")
    b = rule.level
    assert b == pytest.approx(MODERATE_FLOOR, abs=1e-6)
    assert -math.log(1 - b) / b - 1 == pytest.approx(-math.log(1 - 0.21), abs=1e-9)


def test_a_falling_index_leaves_a_hand_computed_cushion_and_a_warning(tmp_path):
    market = falling_market(90.0)  # 25% below the peak of 120
    holdings = holdings_file(tmp_path, {"USDT": 1000})
    rec = recommend(make_baseline("moderate+voltarget+ddbrake"), holdings, market, 39, diagnostics_window=20)
    risk, b = rec.risk, MODERATE_FLOOR
    assert risk.rule == "moderate+voltarget+ddbrake" and risk.budget == 0.35
    assert risk.floor == pytest.approx(b, abs=1e-6)
    assert risk.drawdown == pytest.approx(0.25, abs=1e-12)
    assert risk.cushion == pytest.approx((b - 0.25) / b, abs=1e-5)  # 0.2969
    assert list(risk.exposures) == ["voltarget", "ddbrake"]
    assert risk.exposures["ddbrake"] == pytest.approx((b - 0.25) / (b * 0.75), abs=1e-5)  # 0.3958
    assert risk.peak_date == pd.Timestamp("2024-01-21", tz="UTC")
    assert risk.forgotten_on == pd.Timestamp("2024-07-20", tz="UTC")  # 181 days on: out of the window
    assert risk.status == "at risk"
    # all cash once the index is b below 120: 120 (1 - b) = 77.33, a further 14.1% below 90
    assert risk.warning == (
        "budget at risk: 30% of the cushion left; "
        "a further 14.1% fall of the index puts the portfolio all in cash"
    )
    text = format_recommendation(rec, "test")
    assert "moderate+voltarget+ddbrake: exposure voltarget" in text
    assert "risk budget 35%: the mix's index is 25.0% below its 180-day peak of 2024-01-21" in text
    assert risk.warning in text
    assert rec.to_dict()["risk"]["cushion"] == risk.cushion


def test_at_the_floor_the_rule_is_all_cash_until_its_peak_is_forgotten(tmp_path):
    market = falling_market(60.0)  # 50% below the peak: past the floor
    holdings = holdings_file(tmp_path, {"BTC": 5, "USDT": 500})
    rec = recommend(make_baseline("moderate+ddbrake"), holdings, market, 39, diagnostics_window=20)
    assert rec.risk.cushion == 0.0 and rec.risk.exposures == {"ddbrake": 0.0}
    np.testing.assert_array_equal(rec.target, [1.0, 0.0, 0.0])
    assert rec.risk.warning == (
        "at the floor: all cash until the index recovers or its peak is forgotten on 2024-07-20"
    )


def test_at_its_peak_the_budget_is_kept_without_warning(tmp_path):
    market = falling_market(150.0)  # rising: the last bar is the peak
    holdings = holdings_file(tmp_path, {"USDT": 1000})
    rec = recommend(make_baseline("moderate+ddbrake"), holdings, market, 39, diagnostics_window=20)
    assert rec.risk.drawdown == 0.0 and rec.risk.cushion == 1.0
    assert rec.risk.status == "kept" and rec.risk.warning is None
    assert recommend(make_baseline("moderate"), holdings, market, 39, diagnostics_window=20).risk is None


def test_overlays_without_a_brake_report_their_exposure_only(tmp_path):
    holdings = holdings_file(tmp_path, {"USDT": 1000})
    rec = recommend(
        make_baseline("moderate+voltarget"), holdings, falling_market(90.0), 39, diagnostics_window=20
    )
    assert list(rec.risk.exposures) == ["voltarget"] and rec.risk.cushion is None
    assert rec.risk.status is None and rec.risk.lines()[1:] == []


class Recording:
    """A policy that remembers the observation it was shown and answers a fixed action."""

    def __init__(self, action):
        self.action, self.seen = action, []

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        self.seen.append(observation)
        return self.action, state


def portfolio_as_holdings(tmp_path, market, bar, value, weights):
    """A holdings file of the portfolio worth ``value`` with ``weights`` at ``bar``'s closes."""
    units = value * np.asarray(weights) / market.close[bar]
    return holdings_file(tmp_path, dict(zip(market.symbols, units.tolist(), strict=True)))


def test_the_observation_is_the_envs_at_that_bar(tmp_path):
    market = synthetic_market(seed=3)
    env = PortfolioEnv(market, split="train", window=20)
    observation, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        observation, _, _, _, info = env.step(rng.uniform(-1, 1, env.action_space.shape))
    assert info["drawdown"] > 0  # so the drawdown entry is tested too
    value = info["portfolio_value"]
    holdings = portfolio_as_holdings(tmp_path, market, env.bar, value, env.drifted_weights)
    peak = value / (1 - info["drawdown"])
    action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
    policy = Recording(action)
    rec = recommend(policy, holdings, market, env.bar, config=env.config, peak=peak)
    np.testing.assert_allclose(policy.seen[0], observation, rtol=0, atol=2e-7)
    np.testing.assert_array_equal(rec.observation, policy.seen[0])
    np.testing.assert_allclose(rec.target, action_to_weights(action, market.available[env.bar]), atol=1e-15)
    expected_fees = env.step(action)[4]["fees"]  # the env's ledger, same trade
    assert rec.fees == pytest.approx(expected_fees, rel=1e-9)


def test_a_rule_decides_as_it_did_in_the_backtest(tmp_path):
    market = synthetic_market(seed=1)
    splits = whole_market_splits(market.n_bars, 1000)
    env = PortfolioEnv(market, split="validation", splits=splits)
    result = run_backtest(make_baseline("moderate_regime"), env)
    traded = np.flatnonzero(result.turnover[1:] > 0)[0] + 1  # a bar where the rule traded, not the first
    for row in (traded, traded + 1):
        bar = market.bar_at(result.timestamps[row])
        value, weights = result.values[row], result.weights_before[row]
        holdings = portfolio_as_holdings(tmp_path, market, bar, value, weights)
        rec = recommend(make_baseline("moderate_regime"), holdings, market, bar)
        np.testing.assert_allclose(rec.target, result.weights_after[row], atol=1e-9)
        assert rec.fees == pytest.approx(result.fees[row], rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("baseline", list(BASELINES))
def test_every_baseline_recommends_through_the_command(baseline, tmp_path, capsys):
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,0.2\nETH,3\nUSDC,5000\n")
    assert main(["recommend", "--policy", baseline, "--holdings", str(holdings), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    targets = np.array([row["target"] for row in out["assets"].values()])
    assert targets.sum() == pytest.approx(1.0) and (targets >= 0).all()
    assert out["value_after"] == pytest.approx(out["value"] - out["fees"])
    assert set(out["diagnostics"]) == {"current", "target"}


def test_the_table_names_the_orders_and_the_checks(tmp_path, capsys):
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,0.2\nETH,3\nUSDC,5000\n")
    assert (
        main(["recommend", "--policy", "moderate", "--holdings", str(holdings), "--as-of", "2023-06-01"]) == 0
    )
    out = capsys.readouterr().out
    assert "moderate on synthetic(seed=0) at 2023-06-01 00:00 UTC" in out
    assert "rebalance due" in out and "order_value" in out and "value after trading" in out
    assert "current weight" in out and "target risk share" in out


@pytest.mark.parametrize(
    ("holdings", "extra", "message"),
    [
        ("symbol,quantity\nBTC,1\nPEPE,3\n", [], r"h.csv line 3: unknown symbol 'PEPE'; synthetic has"),
        ("symbol,quantity\nBTC,-1\n", [], r"h.csv line 2: quantity of BTC is '-1'"),
        (
            "symbol,quantity\nBTC,1\nPEPE,1\n",
            ["--assets", "BTC,ETH"],
            r"h.csv line 3: unknown symbol 'PEPE'",
        ),
        (
            "symbol,quantity\nBTC,1\n",
            ["--as-of", "2031-01-01"],
            r"--as-of 2031-01-01: no prices at that time",
        ),
        ("symbol,quantity\nBTC,1\n", ["--policy", "nope"], r"unknown baseline 'nope'"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(tmp_path, capsys, holdings, extra, message):
    path = tmp_path / "h.csv"
    path.write_text(holdings)
    args = ["recommend", "--policy", "moderate", "--holdings", str(path), *extra]
    assert main(args) == 2
    assert re.search(message, capsys.readouterr().err)


@pytest.fixture(scope="module")
def run(tiny_runs):
    return tiny_runs[0]


def test_a_trained_run_recommends_from_its_own_assets(run, tmp_path, capsys):
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,0.2\nSOL,30\nUSDC,2000\n")
    assert main(["recommend", "--policy", str(run), "--holdings", str(holdings), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["policy"] == run.name and out["profile"] == "moderate"
    assert list(out["assets"]) == ["USDC", *synthetic_market().symbols[1:]]
    targets = np.array([row["target"] for row in out["assets"].values()])
    assert targets.sum() == pytest.approx(1.0)


def test_a_run_refuses_assets_it_was_not_trained_on(run, tmp_path, capsys):
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,0.2\n")
    assert main(["recommend", "--policy", str(run), "--holdings", str(holdings), "--assets", "BTC,ETH"]) == 2
    assert "was trained on BTC, ETH, SOL" in capsys.readouterr().err


def test_holdings_outside_a_runs_assets_are_sold_into_cash_with_a_line(run, tmp_path, capsys):
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,1\nNEAR,2\n")
    assert main(["recommend", "--policy", str(run), "--holdings", str(holdings), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    near = MarketConfig(assets=("NEAR",)).load_market()  # the synthetic market of NEAR alone
    price = near.close[near.bar_at(out["date"]), 1]
    assert out["notes"][0].startswith(f"sold 2 NEAR (not among the assets of run {run.name}) into cash")
    assert out["assets"]["USDC"]["held"] == pytest.approx(2 * price * (1 - out["fee"]), rel=1e-12)
    assert "NEAR" not in out["assets"]


def test_an_agents_env_options_map_its_action_as_in_training(tmp_path):
    """A residual agent's zero action recommends the model portfolio; a trade band can hold."""
    market = synthetic_market(seed=3)
    holdings = holdings_file(tmp_path, {"BTC": 1, "ETH": 10, "USDC": 20_000})
    zero = Recording(np.zeros(len(market.symbols), dtype=np.float32))
    rec = recommend(zero, holdings, market, 1500, config=EnvConfig().with_options(residual=True))
    np.testing.assert_allclose(rec.target, rec.model, atol=1e-12)
    at_model = portfolio_as_holdings(
        tmp_path, market, 1500, 10_000.0, rec.model + np.r_[0.02, -0.02, [0] * 8]
    )
    banded = EnvConfig().with_options(residual=True, trade_band=0.05)
    held = recommend(zero, at_model, market, 1500, config=banded)
    assert held.turnover == 0.0 and held.fees == 0.0


def test_an_agent_anchored_on_a_rule_reports_the_rules_budget(tmp_path):
    """No run needed: any policy on an env whose residual actions are anchored on a rule."""
    market = falling_market(90.0)
    holdings = holdings_file(tmp_path, {"USDT": 1000})
    zero = Recording(np.zeros(len(market.symbols), dtype=np.float32))
    config = EnvConfig().with_options(residual=True, anchor="profile+voltarget+ddbrake")
    anchored = recommend(zero, holdings, market, 39, config=config, diagnostics_window=20)
    followed = recommend(
        make_baseline("moderate+voltarget+ddbrake"), holdings, market, 39, diagnostics_window=20
    )
    assert anchored.risk == followed.risk and anchored.risk.status == "at risk"
    np.testing.assert_allclose(anchored.target, followed.target, atol=1e-12)  # the zero action is the rule
    assert "\n".join(followed.risk.lines()) in format_recommendation(anchored, "test")
    unanchored = EnvConfig().with_options(residual=True)
    assert recommend(zero, holdings, market, 39, config=unanchored, diagnostics_window=20).risk is None


class Member(Recording):
    """A run's stand-in in an ensemble: any observation fits it."""

    name = "member"

    def check_spaces(self, observation_space, action_space, described_as):
        pass


def test_an_ensemble_anchored_on_one_rule_reports_its_budget(tmp_path):
    market = falling_market(90.0)
    holdings = holdings_file(tmp_path, {"USDT": 1000})
    anchored = EnvConfig().with_options(residual=True, anchor="profile+ddbrake")

    def ensemble(*configs):
        members = [Member(np.zeros(len(market.symbols), dtype=np.float32)) for _ in configs]
        mappings = [anchored_env(market, split="test", config=c) for c in configs]
        return EnsemblePolicy(members, mappings, anchored_env(market, split="test"))

    both = recommend(ensemble(anchored, anchored), holdings, market, 39, diagnostics_window=20)
    followed = recommend(make_baseline("moderate+ddbrake"), holdings, market, 39, diagnostics_window=20)
    assert both.risk == followed.risk
    mixed = ensemble(anchored, EnvConfig().with_options(residual=True))  # one on the plain profile
    assert recommend(mixed, holdings, market, 39, diagnostics_window=20).risk is None


def test_an_overlay_rule_with_options_recommends_through_the_command(tmp_path, capsys):
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,0.2\nETH,3\nUSDC,5000\n")
    spec = "conservative+voltarget:vol=0.3,window_days=60+ddbrake"  # its comma is not a list of runs
    assert main(["recommend", "--policy", spec, "--holdings", str(holdings), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["profile"] == "conservative" and out["risk"]["budget"] == 0.20
    assert set(out["risk"]["exposures"]) == {"voltarget", "ddbrake"}
    assert 0.0 <= out["risk"]["cushion"] <= 1.0
    assert main(["recommend", "--policy", spec, "--holdings", str(holdings)]) == 0
    assert "risk budget 20%: the mix's index is" in capsys.readouterr().out


def test_a_run_on_files_is_priced_on_its_own_files_without_market(tmp_path, capsys):
    folder = tmp_path / "prices"
    folder.mkdir()
    synthetic = synthetic_market(seed=4, symbols=["BTC", "ETH"])
    for column, symbol in enumerate(synthetic.symbols[1:], start=1):
        close = synthetic.close[:, column] * 1000  # prices that differ from the synthetic market's
        rows = [f"{t:%Y-%m-%d},{c},{c},{c},{c},1" for t, c in zip(synthetic.timestamps, close, strict=True)]
        (folder / f"{symbol}.csv").write_text("date,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    overrides = tiny_overrides("ppo")
    market = MarketConfig(source=str(folder))
    config = resolve_config("ppo", overrides=overrides, n_timesteps=100, market=market)
    trained = RunFolder.create(tmp_path / "runs", config)
    train(config, trained)
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,1\nUSDT,100\n")
    assert (
        main(["recommend", "--policy", str(trained.path), "--holdings", str(holdings), "--format", "json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["cash"] == "USDT" and out["assets"]["BTC"]["price"] == pytest.approx(
        synthetic.close[-1, 1] * 1000
    )


@pytest.fixture(scope="module")
def second_run(tiny_runs):
    return tiny_runs[1]


def recommended_targets(capsys, policy: str, holdings) -> np.ndarray:
    args = ["recommend", "--policy", policy, "--holdings", str(holdings), "--which", "final"]
    args += ["--format", "json"]
    assert main(args) == 0
    return np.array([row["target"] for row in json.loads(capsys.readouterr().out)["assets"].values()])


def test_several_runs_recommend_the_mean_of_their_targets(run, second_run, tmp_path, capsys):
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,0.2\nSOL,30\nUSDC,2000\n")
    alone = [recommended_targets(capsys, str(folder), holdings) for folder in (run, second_run)]
    assert not np.allclose(alone[0], alone[1])  # the seeds disagree: the mean is neither
    together = recommended_targets(capsys, f"{run},{second_run}", holdings)
    np.testing.assert_allclose(together, np.mean(alone, axis=0), atol=1e-12)


def test_an_ensemble_of_runs_that_observe_differently_is_refused(run, tmp_path, capsys):
    overrides = [*tiny_overrides("ppo"), "env.observation.features=window"]
    config = resolve_config("ppo", overrides=overrides, n_timesteps=100, seed=2)
    other = RunFolder.create(tmp_path, config)
    train(config, other)
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nUSDC,100\n")
    assert main(["recommend", "--policy", f"{run},{other.path}", "--holdings", str(holdings)]) == 2
    assert "differs from" in capsys.readouterr().err


def test_old_prices_and_cash_held_under_another_name_are_said(tmp_path):
    market = synthetic_market(seed=3)
    holdings = holdings_file(tmp_path, {"BTC": 1, "USDT": 500})
    last = market.n_bars - 1
    rec = recommend(
        ProfileRule("moderate"), holdings, market, last, now=market.timestamps[last] + pd.Timedelta(days=3)
    )
    assert rec.notes[0].startswith(
        f"old prices: the market's last close is from {market.timestamps[last]:%Y-%m-%d}"
    )
    assert rec.notes[1] == "cash held as 500.00 USDT: counted as USDC, one unit each at USDC's price"
    fresh = recommend(
        ProfileRule("moderate"), holdings, market, last, now=market.timestamps[last] + pd.Timedelta(days=1)
    )
    assert not any(note.startswith("old prices") for note in fresh.notes)
    assert format_recommendation(rec, "synthetic").startswith("old prices")


def test_orders_export_as_csv_and_json_with_the_same_precision(tmp_path, capsys):
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,0.5\nUSDC,20000\n")
    base = ["recommend", "--policy", "moderate", "--holdings", str(holdings), "--rebalance-now"]
    assert main([*base, "--orders", str(tmp_path / "orders.csv")]) == 0
    assert main([*base, "--orders", str(tmp_path / "orders.json"), "--format", "json"]) == 0
    capsys.readouterr()
    table = pd.read_csv(tmp_path / "orders.csv", dtype=str)
    assert list(table.columns) == ["symbol", "side", "quantity", "price", "value"]
    assert (
        table["quantity"].str.fullmatch(r"\d+\.\d{8}").all()
        and table["value"].str.fullmatch(r"\d+\.\d{2}").all()
    )
    assert "BTC" in set(table["symbol"]) and set(table["side"]) <= {"buy", "sell"}
    exported = json.loads((tmp_path / "orders.json").read_text())
    assert [row["symbol"] for row in exported] == table["symbol"].tolist()
    assert [f"{row['quantity']:.8f}" for row in exported] == table["quantity"].tolist()
    assert main([*base, "--orders", str(tmp_path / "orders.txt")]) == 2
    assert "--orders" in capsys.readouterr().err


def test_a_delisted_holding_counts_as_cash_at_its_last_close_less_the_haircut(tmp_path):
    from cryptofolio.evaluation.holdings import cash_in_delisted

    market = build_market({"BTC": [100.0] * 60, "LUNA": [10.0, 10.0, 8.0, *[np.nan] * 57]})
    holdings = holdings_file(tmp_path, {"BTC": 1, "LUNA": 5, "USDT": 10})
    counted, lines = cash_in_delisted(holdings, market, 50, haircut=0.25)
    assert counted.quantities == {"BTC": 1, "USDT": 10 + 5 * 8.0 * 0.75}
    assert lines == [
        "LUNA was delisted after its last close, 8 on 2024-01-03: your 5 count as 30.00 USDT of cash "
        "(haircut 25%)"
    ]
    assert cash_in_delisted(holdings, market, 2, haircut=0.25) == (holdings, [])  # still listed at bar 2
    rec = recommend(make_baseline("moderate"), counted, market, 50, notes=tuple(lines), diagnostics_window=20)
    assert rec.value == pytest.approx(100 + 40, rel=1e-12) and rec.notes[0].startswith("LUNA was delisted")


def test_a_run_on_other_prices_of_its_assets_is_refused_unless_asked(run, tmp_path, capsys):
    """Another seed of the synthetic market: the same symbols, prices the agent never saw."""
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,0.2\nUSDC,2000\n")
    args = ["recommend", "--policy", str(run), "--holdings", str(holdings), "--market-seed", "5"]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "is not the data run" in error and "--other-market" in error and len(error.splitlines()) == 1
    assert main([*args, "--other-market", "--format", "json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any("other prices of its assets" in note for note in notes)


def test_a_run_whose_metadata_was_edited_is_refused_naming_it(run, tmp_path, capsys):
    copy = tmp_path / run.name
    shutil.copytree(run, copy)
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["market"] = "/another/source"  # its record of the run, under every manifest too
    (copy / "metadata.json").write_text(json.dumps(metadata))
    holdings = tmp_path / "h.csv"
    holdings.write_text("symbol,quantity\nBTC,0.2\n")
    assert main(["recommend", "--policy", str(copy), "--holdings", str(holdings)]) == 2
    assert "metadata.json changed since" in capsys.readouterr().err


def test_a_peak_below_the_holdings_value_is_refused(tmp_path):
    market = synthetic_market(seed=3)
    holdings = portfolio_as_holdings(
        tmp_path, market, 100, 1000.0, np.full(len(market.symbols), 1 / len(market.symbols))
    )
    with pytest.raises(ConfigError, match=r"peak 900 is below the holdings' value now \(1000\.00\)"):
        recommend(make_baseline("moderate"), holdings, market, 100, peak=900.0)
