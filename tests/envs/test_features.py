"""Observations of some of a market's columns are those of a market of those columns alone."""

import numpy as np
import pytest

from cryptofolio.envs import synthetic_market
from cryptofolio.envs.features import build_features
from tests.helpers import market_of_columns

MARKET = synthetic_market(seed=3)


@pytest.mark.parametrize("kind", ["window", "summary"])
def test_observations_of_columns_are_those_of_a_market_of_them_alone(kind):
    features = build_features(MARKET, 30, kind)
    rng = np.random.default_rng(0)
    columns = np.array([[0, 4, 1, 7], [0, 2, 9, 3]])
    bars = np.array([400, 1200])
    weights = rng.dirichlet(np.ones(4), size=2)
    drawdowns = np.array([0.1, 0.4])
    gathered = features.observations(bars, weights, drawdowns, columns)
    for row in range(2):
        alone = build_features(market_of_columns(MARKET, list(columns[row])), 30, kind)
        expected = alone.observation(int(bars[row]), weights[row], float(drawdowns[row]))
        np.testing.assert_array_equal(gathered[row], expected)
