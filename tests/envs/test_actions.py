"""The action-to-weights mapping reaches every point of the simplex."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptofolio.envs import PortfolioEnv, action_to_weights, weights_to_action
from tests.strategies import simplex

ALL_LISTED = np.ones(5, dtype=bool)


def test_all_cash_is_reachable():
    weights = action_to_weights(np.array([1, -1, -1, -1, -1], dtype=np.float32), ALL_LISTED)
    np.testing.assert_array_equal(weights, [1, 0, 0, 0, 0])


@pytest.mark.parametrize("k", range(1, 5))
def test_all_in_one_asset_is_reachable(k):
    action = -np.ones(5, dtype=np.float32)
    action[k] = 1.0
    expected = np.zeros(5)
    expected[k] = 1.0
    np.testing.assert_array_equal(action_to_weights(action, ALL_LISTED), expected)


def test_every_action_at_minus_one_means_cash():
    np.testing.assert_array_equal(action_to_weights(-np.ones(5), ALL_LISTED), [1, 0, 0, 0, 0])


def test_zero_action_means_equal_weights():
    np.testing.assert_allclose(action_to_weights(np.zeros(5), ALL_LISTED), np.full(5, 0.2), atol=1e-15)


@given(st.integers(2, 12).flatmap(simplex))
def test_every_point_of_the_simplex_is_reachable(weights):
    action = weights_to_action(weights)
    assert np.all(action >= -1.0) and np.all(action <= 1.0)
    np.testing.assert_allclose(
        action_to_weights(action, np.ones(len(weights), dtype=bool)), weights, atol=1e-15
    )


@given(st.lists(st.floats(-3.0, 3.0), min_size=2, max_size=12))
def test_any_action_gives_weights_on_the_simplex(values):
    weights = action_to_weights(np.array(values, dtype=np.float32), np.ones(len(values), dtype=bool))
    assert np.all(weights >= 0.0)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)


def test_out_of_range_actions_are_clipped():
    clipped = action_to_weights(np.array([-1.0, 1.0, 0.0]), np.ones(3, dtype=bool))
    np.testing.assert_array_equal(
        action_to_weights(np.array([-7.0, 3.0, 0.0]), np.ones(3, dtype=bool)), clipped
    )


def test_weight_on_an_unlisted_asset_goes_to_cash():
    listed = np.array([True, True, False, True])
    weights = action_to_weights(np.array([0.0, 0.0, 1.0, 0.0]), listed)
    np.testing.assert_allclose(weights, [0.2 + 0.4, 0.2, 0.0, 0.2], atol=1e-15)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action_is_refused_with_its_position(bad):
    with pytest.raises(ValueError, match=r"non-finite entries at positions \[2\]"):
        action_to_weights(np.array([0.0, 0.0, bad, 0.0]), np.ones(4, dtype=bool))


def test_action_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(4,\)"):
        action_to_weights(np.zeros(3), np.ones(4, dtype=bool))


@pytest.mark.parametrize("weights", [[0.5, 0.6], [-0.1, 1.1], [np.nan, 1.0]])
def test_weights_to_action_refuses_non_weights(weights):
    with pytest.raises(ValueError, match="weights must"):
        weights_to_action(np.array(weights))


ANCHOR = np.array([0.2, 0.5, 0.3])


def dialled(action: list[float], cap: float) -> np.ndarray:
    env = PortfolioEnv(residual=True, risk_dial=True, risk_cap=cap)
    env.anchor = np.tile(ANCHOR, (env.market.n_bars, 1))  # a hand-made anchor of 2 risky assets
    return env.target_weights(np.array(action), env.first_start, ANCHOR)


@pytest.mark.parametrize(
    ("action", "cap", "expected"),
    [
        ([0.0, 0.0, 0.0], 1.0, [0.2, 0.5, 0.3]),  # the zero action is the anchor
        ([-1.0, 0.0, 0.0], 1.0, [1.0, 0.0, 0.0]),  # the dial at -1: all cash
        ([-0.5, 0.0, 0.0], 1.0, [0.6, 0.25, 0.15]),  # half the anchor's risk
        ([1.0, 0.0, 0.0], 1.0, [0.2, 0.5, 0.3]),  # capped at the anchor's risk
        ([0.2, 0.0, 0.0], 1.5, [0.04, 0.6, 0.36]),  # 1.2 times the risk: 96% risky
        ([1.0, 0.0, 0.0], 1.5, [0.0, 0.625, 0.375]),  # 1.5 times would exceed everything: all risky
    ],
)
def test_the_risk_dial_scales_the_anchors_risky_share(action, cap, expected):
    np.testing.assert_allclose(dialled(action, cap), expected, atol=1e-15)


def test_the_risk_dial_keeps_the_tilt_among_risky_assets():
    # risky weights 0.5 e^1 and 0.3 e^-1 share the anchor's 80%, cash keeps its 20%
    x, y = 0.5 * np.e, 0.3 / np.e
    np.testing.assert_allclose(dialled([0.0, 1.0, -1.0], 1.0), [0.2, 0.8 * x / (x + y), 0.8 * y / (x + y)])


def test_the_risk_dial_needs_residual_actions():
    with pytest.raises(ValueError, match="risk_dial scales the profile's risky share: it needs residual"):
        PortfolioEnv(risk_dial=True)
    with pytest.raises(ValueError, match=r"risk_cap must be a finite number in \[1.0, 10.0\]"):
        PortfolioEnv(residual=True, risk_dial=True, risk_cap=0.5)
