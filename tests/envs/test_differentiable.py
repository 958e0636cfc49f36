"""The torch twin of the ledger, reward and action mapping: the numba kernels' numbers, with gradients."""

import dataclasses
import subprocess
import sys
from typing import get_type_hints

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptofolio.envs import (
    PortfolioEnv,
    RewardConfig,
    ledger_step,
    load_csv_dir,
    rebalance_factor,
    risk_profile,
    split_by_dates,
    synthetic_market,
)
from cryptofolio.envs import actions as numba_actions
from cryptofolio.envs import differentiable as twin
from cryptofolio.envs.reward import RewardSettings, RewardState
from cryptofolio.envs.reward import reward as numba_reward
from tests.strategies import simplex

N_MAX = 12
BATCH_MAX = 6
EXACT = 1e-12
SPLITS = {
    "train": ("2020-10-15", "2022-12-31"),
    "validation": ("2023-01-01", "2023-12-31"),
    "test": ("2024-01-01", "2024-06-30"),
}
EPISODE_OPTIONS = {
    "free": {},
    "residual-banded": {"residual": True, "trade_band": 0.05, "action_penalty": 0.01},
    "risk-dial": {"residual": True, "risk_dial": True, "risk_cap": 1.5, "trade_band": 0.02},
    "weekly-increase": {
        "decision_every": 7, "drawdown_mode": "increase", "turnover_penalty": 0.01, "fee": 0.002,
        "slippage": 0.001, "cash_yield": 0.04, "action_penalty": 0.05,
    },
    "differential-sharpe": {"residual": True, "objective": "differential_sharpe", "sharpe_decay": 0.05},
    "mean-variance": {"variance_penalty": 2.0, "turnover_penalty": 0.01},
}  # fmt: skip


def as_tensor(array: np.ndarray | float, device: str = "cpu") -> torch.Tensor:
    """A float64 copy on ``device`` (the env's arrays are read-only)."""
    return torch.tensor(np.asarray(array, dtype=np.float64), device=device)


def rows_of(draw: st.DrawFn, strategy: st.SearchStrategy, shape: tuple[int, int]) -> np.ndarray:
    """A (B, n) float64 array of draws from ``strategy``."""
    return np.array(
        draw(st.lists(strategy, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]))
    ).reshape(shape)


@st.composite
def trade_batches(draw: st.DrawFn) -> dict:
    """B portfolios with N from 1 to 12: values, drifted and target weights, relatives and a cost rate."""
    n, b = draw(st.integers(2, N_MAX + 1)), draw(st.integers(1, BATCH_MAX))
    drifted = np.stack([draw(simplex(n)) for _ in range(b)])
    targets = np.stack([drifted[k] if draw(st.booleans()) and k else draw(simplex(n)) for k in range(b)])
    return {
        "value": rows_of(draw, st.floats(1e-3, 1e6), (b, 1))[:, 0],
        "drifted": drifted,
        "targets": targets,
        "relatives": rows_of(draw, st.floats(0.01, 10.0), (b, n)),
        "cost_rate": draw(st.floats(0.0, 0.05)),
    }


@st.composite
def mapping_cases(draw: st.DrawFn) -> dict:
    """Actions (some outside [-1, 1], some exactly at +-1), drifted weights, listings and an anchor."""
    n, b = draw(st.integers(2, N_MAX + 1)), draw(st.integers(1, BATCH_MAX))
    action = st.one_of(st.floats(-3.0, 3.0), st.sampled_from([-1.0, 1.0, -2.0, 0.0]))
    actions = rows_of(draw, action, (b, n))
    if draw(st.booleans()):
        actions[0] = np.minimum(actions[0], -1.0)  # every entry at or below -1: all cash
    listed = rows_of(draw, st.booleans(), (b, n)).astype(bool)
    listed[:, 0] = True
    anchor = np.stack([draw(simplex(n)) for _ in range(b)])
    return {
        "actions": actions,
        "drifted": np.stack([draw(simplex(n)) for _ in range(b)]),
        "listed": listed,
        "anchor": anchor,
        "tilt": draw(st.floats(0.1, 3.0)),
        "dial_cap": draw(st.sampled_from([0.0, 1.0, 1.5, 3.0])),  # 0: no risk dial
        "band": draw(st.sampled_from([0.0, 0.01, 0.05, 0.2])),
    }


def numba_targets(case: dict, *, residual: bool, every: int) -> np.ndarray:
    """``fill_targets`` row by row, row k read at bar t = k of (B, N+1) listings and anchor."""
    actions, drifted = case["actions"], case["drifted"]
    anchor = case["anchor"] if residual else np.empty((0, actions.shape[1]))
    out = np.empty_like(drifted)
    dial_cap = case["dial_cap"] if residual else 0.0
    for k in range(len(actions)):
        assert numba_actions.fill_targets(
            actions, k, case["listed"], anchor, k, case["tilt"], dial_cap, case["band"], every, drifted, out
        )
    return out


def twin_targets(case: dict, *, residual: bool, every: int) -> np.ndarray:
    """:func:`twin.target_weights` on the same case, row k deciding when ``k % every == 0``."""
    decide = torch.arange(len(case["actions"])) % every == 0
    return twin.target_weights(
        as_tensor(case["actions"]),
        as_tensor(case["drifted"]),
        listed=torch.as_tensor(case["listed"]),
        anchor=as_tensor(case["anchor"]) if residual else None,
        tilt=case["tilt"],
        dial_cap=case["dial_cap"] if residual else 0.0,
        band=case["band"],
        decide=decide,
    ).numpy()


# Equality with the numba kernels


@settings(deadline=None)  # the first example compiles numba and warms torch up
@given(trade_batches())
def test_trade_and_hold_equals_the_numba_ledger_step_row_by_row(batch):
    fees, turnover, next_value, next_drifted = twin.trade_and_hold(
        as_tensor(batch["value"]),
        as_tensor(batch["drifted"]),
        as_tensor(batch["targets"]),
        as_tensor(batch["relatives"]),
        batch["cost_rate"],
    )
    for k in range(len(batch["value"])):
        expected = ledger_step(
            batch["value"][k],
            batch["drifted"][k],
            batch["targets"][k],
            batch["relatives"][k],
            batch["cost_rate"],
        )
        np.testing.assert_allclose(fees[k].item(), expected[0], rtol=EXACT, atol=EXACT)
        np.testing.assert_allclose(turnover[k].item(), expected[1], rtol=0.0, atol=EXACT)
        np.testing.assert_allclose(next_value[k].item(), expected[2], rtol=EXACT, atol=EXACT)
        np.testing.assert_allclose(next_drifted[k].numpy(), expected[3], rtol=0.0, atol=EXACT)


@settings(deadline=None)  # the first example compiles numba and warms torch up
@given(trade_batches())
def test_mu_equals_the_numba_rebalance_factor(batch):
    mu = twin.rebalance_factor(as_tensor(batch["drifted"]), as_tensor(batch["targets"]), batch["cost_rate"])
    expected = [
        rebalance_factor(drifted, targets, batch["cost_rate"])
        for drifted, targets in zip(batch["drifted"], batch["targets"], strict=True)
    ]
    np.testing.assert_allclose(mu.numpy(), expected, rtol=0.0, atol=EXACT)


@st.composite
def reward_settings(draw: st.DrawFn) -> RewardSettings:
    """Settings with every field drawn: each penalty in [0, 5], so a new term is tested as it is added."""
    special = {
        "drawdown_tolerance": st.floats(0.01, 1.0),
        "sharpe_decay": st.sampled_from([0.0, 0.01, 0.1, 1.0]),  # 0: the log growth is the objective
    }
    fields = {
        name: draw(special.get(name, st.booleans() if kind is bool else st.floats(0.0, 5.0)))
        for name, kind in get_type_hints(RewardSettings).items()
    }
    return RewardSettings(**fields)


@settings(deadline=None)  # the first example compiles numba and warms torch up
@given(
    values=st.lists(st.floats(0.05, 20.0), min_size=3, max_size=3),
    drawdown=st.floats(0.0, 0.99),
    turnover=st.floats(0.0, 2.0),
    size=st.floats(0.0, 1.0),
    mean=st.floats(-0.5, 0.5),
    spread=st.floats(0.0, 0.5),
    steps=st.integers(0, 400),
    setting=reward_settings(),
)
def test_step_reward_equals_the_numba_reward_term_by_term(
    values, drawdown, turnover, size, mean, spread, steps, setting
):
    value, next_value, peak_gain = values
    peak = max(value, peak_gain)  # the peak is never below the value
    state = RewardState(peak=peak, drawdown=drawdown, sharpe_mean=mean, sharpe_second=mean**2 + spread)
    expected = numba_reward(value, next_value, turnover, size, steps, state, setting)
    got = twin.step_reward(
        as_tensor([value]),
        as_tensor([next_value]),
        as_tensor([turnover]),
        as_tensor([size]),
        steps,
        RewardState._make(as_tensor([field]) for field in state),
        setting,
    )
    for name, record in (("reward", 0), ("terms", 1), ("state", 2)):
        wanted, have = expected[record], got[record]
        named = wanted._asdict().items() if name != "reward" else [(name, wanted)]
        for field, number in named:
            tensor = have if name == "reward" else getattr(have, field)
            np.testing.assert_allclose(tensor.item(), number, rtol=EXACT, atol=EXACT, err_msg=field)


@settings(deadline=None)  # the first example compiles numba and warms torch up
@given(mapping_cases())
def test_free_target_weights_equal_numba_fill_targets(case):
    np.testing.assert_allclose(
        twin_targets(case, residual=False, every=1),
        numba_targets(case, residual=False, every=1),
        rtol=0.0,
        atol=EXACT,
    )


@settings(deadline=None)  # the first example compiles numba and warms torch up
@given(mapping_cases())
def test_residual_target_weights_equal_numba_fill_targets(case):
    np.testing.assert_allclose(
        twin_targets(case, residual=True, every=1),
        numba_targets(case, residual=True, every=1),
        rtol=0.0,
        atol=EXACT,
    )


@settings(max_examples=50, deadline=None)
@given(mapping_cases(), st.booleans(), st.integers(2, 3))
def test_rows_that_do_not_decide_keep_their_drifted_weights_as_in_numba(case, residual, every):
    got = twin_targets(case, residual=residual, every=every)
    np.testing.assert_allclose(got, numba_targets(case, residual=residual, every=every), rtol=0.0, atol=EXACT)
    skipped = np.arange(len(got)) % every != 0
    np.testing.assert_array_equal(got[skipped], case["drifted"][skipped])


@settings(deadline=None)  # the first example compiles numba and warms torch up
@given(st.integers(2, N_MAX + 1).flatmap(lambda n: st.lists(st.floats(-3.0, 3.0), min_size=n, max_size=n)))
def test_action_size_equals_numba(values):
    actions = np.array([values])
    assert twin.action_size(as_tensor(actions)).item() == pytest.approx(
        numba_actions.action_size(actions, 0), abs=EXACT
    )


def test_actions_at_minus_one_give_all_cash_with_a_finite_gradient():
    actions = torch.tensor([[-1.0, -1.5, -1.0]], dtype=torch.float64, requires_grad=True)
    weights = twin.target_weights(actions, as_tensor([[0.2, 0.5, 0.3]]), listed=torch.ones(1, 3, dtype=bool))
    weights[:, 1].sum().backward()
    np.testing.assert_array_equal(weights.detach().numpy(), [[1.0, 0.0, 0.0]])
    assert actions.grad is not None and torch.isfinite(actions.grad).all()


def test_importing_the_envs_does_not_import_torch():
    code = "import sys, cryptofolio.envs; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# Whole env episodes, replayed through the twins


def run_episodes(env: PortfolioEnv, actions: np.ndarray, start: int) -> dict[str, np.ndarray]:
    """Each (steps, N+1) action sequence of ``actions`` played through ``env`` from ``start`` to the end."""
    keys = ("portfolio_value", "weights", "drifted_weights", "fees", "turnover", "drawdown")
    records: dict[str, list] = {key: [] for key in (*keys, "reward")}
    for sequence in actions:
        env.reset(options={"start": start, "to_end": True})
        episode: dict[str, list] = {key: [] for key in records}
        for action in sequence:
            _, reward, terminated, truncated, info = env.step(action)
            for key in keys:
                episode[key].append(info[key])
            episode["reward"].append(reward)
            if terminated or truncated:
                break
        assert truncated and not terminated and len(episode["reward"]) == len(sequence)
        for key, values in episode.items():
            records[key].append(values)
    return {key: np.array(values) for key, values in records.items()}


def replay(env: PortfolioEnv, actions: np.ndarray, start: int) -> dict[str, np.ndarray]:
    """The same sequences through the twins, all B = len(actions) portfolios in one batch."""
    p, b = env.parameters, actions.shape[0]
    value = torch.full((b,), env.config.initial_value, dtype=torch.float64)
    state = RewardState.start(value, torch.zeros_like(value))
    drifted = torch.zeros(b, actions.shape[2], dtype=torch.float64)
    drifted[:, 0] = 1.0
    residual = env.config.actions.residual
    records: dict[str, list] = {
        key: []
        for key in ("portfolio_value", "weights", "drifted_weights", "fees", "turnover", "drawdown", "reward")
    }
    for step in range(actions.shape[1]):
        t = start + step
        action = as_tensor(actions[:, step])  # the env's float32 actions, as float64
        targets = twin.target_weights(
            action,
            drifted,
            listed=torch.tensor(env.market.available[t]).expand(b, -1),
            anchor=as_tensor(env.anchor[t]).expand(b, -1) if residual else None,
            tilt=p.tilt,
            dial_cap=p.dial_cap,
            band=p.trade_band,
            decide=torch.full((b,), t % p.decision_every == 0),
        )
        fees, turnover, next_value, next_drifted = twin.trade_and_hold(
            value, drifted, targets, as_tensor(env.relatives[t]).expand(b, -1), p.cost_rate
        )
        size = twin.action_size(action) * (t % p.decision_every == 0)
        reward, _, state = twin.step_reward(value, next_value, turnover, size, step, state, p.reward)
        for key, tensor in (
            ("portfolio_value", next_value), ("weights", targets), ("drifted_weights", drifted),
            ("fees", fees), ("turnover", turnover), ("drawdown", state.drawdown), ("reward", reward),
        ):  # fmt: skip
            records[key].append(tensor.numpy())
        value, drifted = next_value, next_drifted
    return {key: np.swapaxes(np.array(values), 0, 1) for key, values in records.items()}


def assert_episodes_replay_exactly(env: PortfolioEnv, start: int, seed: int) -> None:
    steps = env.split_bars.stop - 1 - start
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1.3, 1.3, (3, steps, len(env.symbols))).astype(np.float32)  # some clipped
    expected, got = run_episodes(env, actions, start), replay(env, actions, start)
    for key, values in expected.items():
        np.testing.assert_allclose(got[key], values, rtol=EXACT, atol=EXACT, err_msg=key)


@pytest.mark.parametrize("options", EPISODE_OPTIONS.values(), ids=EPISODE_OPTIONS.keys())
def test_an_episode_on_the_synthetic_market_replays_exactly_through_the_twins(options):
    env = PortfolioEnv(synthetic_market(seed=0, n_bars=900), split="validation", **options)
    assert_episodes_replay_exactly(env, env.first_start, seed=1)


@pytest.mark.parametrize("options", EPISODE_OPTIONS.values(), ids=EPISODE_OPTIONS.keys())
def test_an_episode_on_real_daily_data_replays_exactly_through_the_twins(shared_data, options):
    market = load_csv_dir(
        shared_data / "binance-daily", symbols=risk_profile("moderate").assets, start="2020-09-14"
    )  # the validation year lists ARB in March 2023
    env = PortfolioEnv(market, split="validation", splits=split_by_dates(market, **SPLITS), **options)
    assert_episodes_replay_exactly(env, env.first_start, seed=2)


@pytest.mark.parametrize("mode", ["excess", "increase"])
def test_a_set_drawdown_penalty_reaches_the_kernel_and_the_twins_alike(mode):
    # a Lagrange multiplier (RewardConfig.budget_rate) set on a training env: both compute with it
    options = {"drawdown_mode": mode, "drawdown_tolerance": 0.05, "drawdown_penalty": 0.5}
    market = synthetic_market(seed=0, n_bars=900)
    configured = PortfolioEnv(market, split="validation", **options)
    env = PortfolioEnv(market, split="validation", **options)
    env.set_drawdown_penalty(3.0)
    steps = env.split_bars.stop - 1 - env.first_start
    actions = np.random.default_rng(1).uniform(-1.3, 1.3, (3, steps, len(env.symbols))).astype(np.float32)
    charged = run_episodes(env, actions, env.first_start)["reward"]
    assert np.abs(charged - run_episodes(configured, actions, env.first_start)["reward"]).max() > 1e-6
    twins = replay(env, actions, env.first_start)["reward"]
    np.testing.assert_allclose(twins, charged, rtol=EXACT, atol=EXACT)


# Gradients


def away_from_kinks(
    rng: np.random.Generator, n: int, b: int, cost_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """(B, n) drifted and target weights whose every risky gap ``mu w_i - w~_i`` is at least 1e-3 from 0."""
    while True:
        drifted, targets = rng.dirichlet(np.ones(n), size=b), rng.dirichlet(np.ones(n), size=b)
        mu = np.array([rebalance_factor(d, w, cost_rate) for d, w in zip(drifted, targets, strict=True)])
        if np.abs(mu[:, None] * targets[:, 1:] - drifted[:, 1:]).min() > 1e-3:
            return drifted, targets


def test_mu_passes_gradcheck_in_drifted_and_target_weights():
    drifted, targets = away_from_kinks(np.random.default_rng(3), 6, 4, 0.01)
    inputs = (as_tensor(drifted).requires_grad_(), as_tensor(targets).requires_grad_())
    assert torch.autograd.gradcheck(lambda d, w: twin.rebalance_factor(d, w, 0.01), inputs)


def test_next_value_passes_gradcheck():
    rng = np.random.default_rng(4)
    drifted, targets = away_from_kinks(rng, 5, 3, 0.02)
    inputs = tuple(
        as_tensor(array).requires_grad_()
        for array in (rng.uniform(0.5, 2.0, 3), drifted, targets, rng.uniform(0.5, 2.0, (3, 5)))
    )
    assert torch.autograd.gradcheck(lambda v, d, w, x: twin.trade_and_hold(v, d, w, x, 0.02)[2], inputs)


def rollout(
    actions: torch.Tensor, anchor: torch.Tensor, relatives: torch.Tensor, sharpe_decay: float = 0.0
) -> tuple[torch.Tensor, float]:
    """Summed reward of (steps, B, N+1) residual ``actions`` from cash, and the least distance to a kink."""
    steps, b, n = actions.shape
    value = torch.ones(b, dtype=torch.float64)
    state = RewardState.start(value, torch.zeros_like(value))
    objective = {"objective": "differential_sharpe", "sharpe_decay": sharpe_decay} if sharpe_decay else {}
    config = RewardConfig(drawdown_penalty=2.0, turnover_penalty=0.05, action_penalty=0.1, **objective)
    reward_settings = RewardSettings.from_config(config, 0.02)  # (the profile's tolerance)
    drifted = torch.zeros(b, n, dtype=torch.float64)
    drifted[:, 0] = 1.0
    total, margin = torch.zeros(b, dtype=torch.float64), np.inf
    for step in range(steps):
        targets = twin.target_weights(actions[step], drifted, anchor=anchor, tilt=1.5)
        mu = twin.rebalance_factor(drifted, targets, 0.01)
        _, turnover, next_value, next_drifted = twin.trade_and_hold(
            value, drifted, targets, relatives[step], 0.01
        )
        size = twin.action_size(actions[step])
        reward, _, next_state = twin.step_reward(
            value, next_value, turnover, size, step, state, reward_settings
        )
        distances = (
            (mu[:, None] * targets[:, 1:] - drifted[:, 1:]).abs().flatten(),  # fees
            (next_state.drawdown - 0.02).abs(),  # the drawdown's max(0, .)
            (next_value - state.peak).abs(),  # the peak's max
            1.0 - actions[step].abs().flatten(),  # the clip
        )
        margin = min(margin, min(distance.min().item() for distance in distances))
        total = total + reward
        value, state, drifted = next_value, next_state, next_drifted
    return total.sum(), margin


@pytest.mark.parametrize("sharpe_decay", [0.0, 0.1], ids=["log-growth", "differential-sharpe"])
def test_a_rollouts_summed_reward_passes_gradcheck_in_the_actions(sharpe_decay):
    rng = np.random.default_rng(5)
    steps, b, n = 4, 2, 4
    anchor = as_tensor(rng.dirichlet(np.ones(n), size=b))
    relatives = as_tensor(rng.uniform(0.9, 1.1, (steps, b, n)))
    actions = as_tensor(rng.uniform(-0.8, 0.8, (steps, b, n))).requires_grad_()
    _, margin = rollout(actions, anchor, relatives, sharpe_decay)
    assert margin > 1e-4  # a smooth point: gradcheck's 1e-6 steps cross no kink
    assert torch.autograd.gradcheck(lambda a: rollout(a, anchor, relatives, sharpe_decay)[0], (actions,))


def test_the_gradient_of_mu_equals_central_differences_of_the_numba_solver():
    cost_rate, h = 0.03, 1e-6
    drifted, targets = (row[0] for row in away_from_kinks(np.random.default_rng(6), 7, 1, cost_rate))
    inputs = (as_tensor(drifted[None]).requires_grad_(), as_tensor(targets[None]).requires_grad_())
    twin.rebalance_factor(*inputs, cost_rate).sum().backward()
    for which, tensor in enumerate(inputs):
        expected = np.empty(len(drifted))
        for i in range(len(drifted)):
            up, down = [drifted.copy(), targets.copy()], [drifted.copy(), targets.copy()]
            up[which][i] += h
            down[which][i] -= h
            expected[i] = (rebalance_factor(*up, cost_rate) - rebalance_factor(*down, cost_rate)) / (2 * h)
        assert tensor.grad is not None
        np.testing.assert_allclose(tensor.grad[0].numpy(), expected, rtol=0.0, atol=1e-8)
        assert expected[0] == 0.0  # cash trades free: no gradient in its column


# Devices


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
        ),
    ],
)
def test_the_twins_compute_on_the_device_of_their_inputs(device):
    rng = np.random.default_rng(7)
    drifted, _ = away_from_kinks(rng, 5, 3, 0.01)
    arrays = (
        rng.uniform(-1.2, 1.2, (3, 5)),
        drifted,
        rng.dirichlet(np.ones(5), 3),
        rng.uniform(0.8, 1.2, (3, 5)),
    )

    def chain(on: str) -> tuple[torch.Tensor, torch.Tensor]:
        actions, drifted, anchor, relatives = (as_tensor(array, on) for array in arrays)
        actions.requires_grad_()
        weights = twin.target_weights(actions, drifted, anchor=anchor, band=0.01)
        _, turnover, next_value, _ = twin.trade_and_hold(
            torch.ones(3, device=on, dtype=torch.float64), drifted, weights, relatives, 0.01
        )
        start = RewardState.start(torch.ones_like(next_value), torch.zeros_like(next_value))
        config = RewardConfig(drawdown_penalty=1.0, turnover_penalty=0.1, action_penalty=1.0)
        settings = RewardSettings.from_config(config, 0.1)
        reward, *_ = twin.step_reward(
            start.peak, next_value, turnover, twin.action_size(actions), 0, start, settings
        )
        reward.sum().backward()
        assert actions.grad is not None
        return reward, actions.grad

    reward, grad = chain(device)
    assert reward.device.type == grad.device.type == device and reward.dtype == torch.float64
    expected_reward, expected_grad = chain("cpu")
    np.testing.assert_allclose(reward.detach().cpu().numpy(), expected_reward.detach().numpy(), atol=EXACT)
    np.testing.assert_allclose(grad.cpu().numpy(), expected_grad.numpy(), atol=EXACT)


def delisted_market(n_bars: int = 900, bar: int = 700, column: int = 3):
    """The synthetic market with one asset's prices ending at ``bar`` (delisted after it)."""
    market = synthetic_market(seed=0, n_bars=n_bars)
    close, available = market.close.copy(), market.available.copy()
    close[bar + 1 :, column], available[bar + 1 :, column] = np.nan, False
    return dataclasses.replace(market, close=close, available=available)


@pytest.mark.parametrize("options", EPISODE_OPTIONS.values(), ids=EPISODE_OPTIONS.keys())
def test_an_episode_through_a_delisting_replays_exactly_through_the_twins(options):
    market = delisted_market()
    assert list(market.delisted) == [market.symbols[3]]
    env = PortfolioEnv(market, split="validation", delisting_haircut=0.3, **options)
    assert env.split_bars.start < 700 < env.split_bars.stop - 1  # the delisting is inside the episode
    assert_episodes_replay_exactly(env, env.first_start, seed=2)
