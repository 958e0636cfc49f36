"""The backtest runner: one path for every policy, and results that save and load."""

import numpy as np
import pandas as pd
import pytest

from cryptofolio.agents import BtcOnly, EqualWeight
from cryptofolio.envs import PortfolioEnv, synthetic_market, weights_to_action
from cryptofolio.evaluation.backtest import BacktestResult, run_backtest


@pytest.fixture(scope="module")
def env() -> PortfolioEnv:
    return PortfolioEnv(synthetic_market(seed=5, n_bars=500), split="test", fee=0.002, window=20)


class AllInBtc:
    """A stand-in for an SB3 model: predict from the observation alone."""

    def __init__(self, n_columns: int, btc: int) -> None:
        weights = np.zeros(n_columns)
        weights[btc] = 1.0
        self.action = weights_to_action(weights).astype(np.float32)

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        assert observation.dtype == np.float32
        return self.action, state


def test_a_model_with_predict_and_the_matching_rule_give_the_same_run(env):
    model = run_backtest(AllInBtc(len(env.symbols), env.symbols.index("BTC")), env, name="model")
    rule = run_backtest(BtcOnly(), env)
    np.testing.assert_allclose(model.values, rule.values, rtol=1e-12)
    assert model.name == "model" and rule.name == "btc_only"


def test_every_run_covers_the_whole_split_from_the_same_start(env):
    a, b = run_backtest(BtcOnly(), env), run_backtest(EqualWeight(), env)
    assert a.timestamps.equals(b.timestamps)
    assert a.timestamps[0] == env.market.timestamps[env.first_start]
    assert a.timestamps[-1] == env.market.timestamps[env.split_bars.stop - 1]
    assert a.values[0] == b.values[0] == env.config.initial_value
    assert a.meta["fee"] == 0.002 and a.meta["split"] == "test"


def test_the_rows_are_consistent(env):
    result = run_backtest(EqualWeight(), env)
    np.testing.assert_allclose(result.fees, 0.002 * result.turnover * result.values, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        result.drawdowns, 1 - result.values / np.maximum.accumulate(result.values), atol=1e-12
    )
    np.testing.assert_array_equal(result.weights_before[0], np.eye(len(env.symbols))[0])  # starts in cash
    assert result.turnover[-1] == 0.0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_results_save_and_load_back(env, tmp_path, suffix):
    result = run_backtest(EqualWeight(), env)
    path = result.save(tmp_path / f"equal_weight{suffix}")
    loaded = BacktestResult.load(path)
    assert loaded.name == result.name and loaded.symbols == result.symbols and loaded.meta == result.meta
    assert loaded.timestamps.equals(result.timestamps)
    for field in ("values", "drawdowns", "weights_before", "weights_after", "turnover", "fees", "rewards"):
        np.testing.assert_allclose(getattr(loaded, field), getattr(result, field), rtol=1e-15, atol=0)
    assert isinstance(loaded.to_frame(), pd.DataFrame)
