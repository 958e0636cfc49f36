"""BatchedPortfolioEnv equals B PortfolioEnvs: same seeds and actions, same everything, across resets."""

from functools import partial

import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

from cryptofolio.envs import PortfolioEnv, synthetic_market
from cryptofolio.envs.reward import INFO_KEYS as TERM_KEYS
from cryptofolio.envs.vector_env import INFO_MODES, BatchedPortfolioEnv

OPTIONS = {"window": 10, "episode_length": 25, "turnover_penalty": 0.01, "drawdown_tolerance": 0.05}
LEVERS = {
    "residual": True,
    "tilt": 2.0,
    "trade_band": 0.15,
    "drawdown_mode": "increase",
    "action_penalty": 0.1,
    "features": "summary",
    "decision_every": 3,
}
KEYS = ("portfolio_value", "turnover", "fees", "drawdown", "bar")
KEYS += (
    "reward_log_growth",
    "reward_differential_sharpe",
    "reward_drawdown_penalty",
    "reward_turnover_penalty",
)
KEYS += ("reward_action_penalty",)
KEYS += tuple(key for key in TERM_KEYS if key not in KEYS)  # every term of RewardTerms


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=3, n_bars=600)


@pytest.mark.parametrize(
    "levers",
    [
        {},
        LEVERS,
        {**LEVERS, "risk_dial": True, "risk_cap": 1.5},
        {"residual": True, "objective": "differential_sharpe", "sharpe_decay": 0.1},
    ],
    ids=["plain", "residual-band-increase", "risk-dial", "differential-sharpe"],
)
def test_the_batched_env_equals_scalar_envs_across_resets(market, levers):
    n, seed = 6, 11
    batched = BatchedPortfolioEnv(n, market, **OPTIONS, **levers)
    batched.seed(seed)
    scalars = [PortfolioEnv(market, **OPTIONS, **levers) for _ in range(n)]
    observations = batched.reset()
    first = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(scalars)])
    np.testing.assert_array_equal(observations, first)
    rng = np.random.default_rng(0)
    resets = 0
    for _ in range(120):
        actions = rng.uniform(-1.3, 1.3, size=(n, len(market.symbols))).astype(np.float32)
        observations, rewards, dones, infos = batched.step(actions)
        for i, env in enumerate(scalars):
            obs, reward, terminated, truncated, info = env.step(actions[i])
            assert rewards[i] == np.float32(reward)  # as DummyVecEnv's (approx passes any float32)
            assert batched.last_step["reward"][i] == pytest.approx(reward, abs=1e-12)
            for key in KEYS:
                assert infos[i][key] == pytest.approx(info[key], abs=1e-12), key
            np.testing.assert_allclose(infos[i]["weights"], info["weights"], atol=1e-12)
            assert infos[i]["date"] == info["date"] and dones[i] == (terminated or truncated)
            if terminated or truncated:
                np.testing.assert_allclose(infos[i]["terminal_observation"], obs, atol=1e-12)
                assert infos[i]["TimeLimit.truncated"] == (truncated and not terminated)
                obs, _ = env.reset()
                resets += 1
            np.testing.assert_allclose(observations[i], obs, atol=1e-12)
    assert resets > 20  # several episodes each, so resets were compared too


def test_done_infos_keep_only_what_training_needs(market):
    batched = BatchedPortfolioEnv(4, market, infos="done", **OPTIONS)
    batched.seed(0)
    batched.reset()
    actions = np.zeros((4, len(market.symbols)), dtype=np.float32)
    seen_done = False
    for _ in range(30):
        _, _, dones, infos = batched.step(actions)
        for info, done in zip(infos, dones, strict=True):
            assert set(info) == ({"terminal_observation", "TimeLimit.truncated"} if done else set())
            seen_done |= bool(done)
        assert set(batched.last_step) >= {"weights", "portfolio_value", "turnover", "fees", "dones"}
    assert seen_done


@pytest.mark.parametrize("infos", INFO_MODES)
def test_last_step_holds_a_finished_episodes_last_step_not_the_next_episodes_start(market, infos):
    n = 4
    batched = BatchedPortfolioEnv(n, market, infos=infos, **OPTIONS)
    dummy = DummyVecEnv([partial(PortfolioEnv, market, **OPTIONS) for _ in range(n)])
    for venv in (batched, dummy):
        venv.seed(2)
        venv.reset()
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(60):
        actions = rng.uniform(-1.3, 1.3, size=(n, len(market.symbols))).astype(np.float32)
        batched.step(actions)
        _, _, dones, expected = dummy.step(actions)
        for key in ("bar", "portfolio_value", "drawdown", "turnover", "fees"):
            assert batched.last_step[key].tolist() == [info[key] for info in expected], key
        finished += int(dones.sum())
    assert finished >= 2 * n


def test_it_works_under_sb3_wrappers(market):
    venv = VecMonitor(BatchedPortfolioEnv(3, market, infos="done", **OPTIONS))
    venv.seed(1)
    obs = venv.reset()
    episodes = []
    for _ in range(60):
        obs, _, dones, infos = venv.step(np.zeros((3, len(market.symbols)), dtype=np.float32))
        episodes += [info["episode"] for info, done in zip(infos, dones, strict=True) if done]
    assert obs.shape == (3, venv.observation_space.shape[0]) and obs.dtype == np.float32
    assert episodes and all(e["l"] == 25 for e in episodes)


def test_a_nan_action_names_the_portfolio(market):
    batched = BatchedPortfolioEnv(3, market, **OPTIONS)
    batched.reset()
    actions = np.zeros((3, len(market.symbols)))
    actions[2, 4] = np.nan
    with pytest.raises(ValueError, match=r"action of portfolio 2 has non-finite entries at positions \[4\]"):
        batched.step(actions)


def test_reset_options_apply_to_the_next_reset(market):
    batched = BatchedPortfolioEnv(2, market, **OPTIONS)
    batched.set_options({"start": 100, "to_end": True})
    batched.reset()
    assert batched.reset_infos[0]["bar"] == 100 and batched.reset_infos[1]["bar"] == 100


def test_actions_of_any_real_dtype_step_and_others_are_refused(market):
    batched = BatchedPortfolioEnv(2, market, **OPTIONS)
    batched.seed(0)
    batched.reset()
    columns = len(market.symbols)
    for dtype in (np.float16, np.int64):
        batched.step(np.zeros((2, columns), dtype=dtype))
    with pytest.raises(ValueError, match="actions have entries of type complex128, expected real numbers"):
        batched.step(np.zeros((2, columns), dtype=complex))


def test_a_new_drawdown_penalty_reaches_the_batched_kernel_as_the_scalar_one(market):
    batched = BatchedPortfolioEnv(2, market, **OPTIONS)
    scalars = [PortfolioEnv(market, **OPTIONS) for _ in range(2)]
    batched.set_options({"start": 100})
    batched.reset()
    for env in scalars:
        env.reset(options={"start": 100})
    batched.set_drawdown_penalty(3.0)
    for env in scalars:
        env.set_drawdown_penalty(3.0)
    rng = np.random.default_rng(0)
    charged = 0.0
    for _ in range(20):
        actions = rng.uniform(-1, 1, size=(2, len(market.symbols)))
        _, rewards, _, _ = batched.step(actions)
        step = batched.last_step
        for i, env in enumerate(scalars):
            _, reward, _, _, info = env.step(actions[i])
            assert rewards[i] == pytest.approx(reward, abs=1e-12)
            assert step["reward_drawdown_penalty"][i] == pytest.approx(
                info["reward_drawdown_penalty"], abs=1e-12
            )
            # the term is the new multiplier times the drawdown beyond the tolerance
            expected = 3.0 * max(0.0, info["drawdown"] - OPTIONS["drawdown_tolerance"])
            assert info["reward_drawdown_penalty"] == pytest.approx(expected, abs=1e-12)
            charged += info["reward_drawdown_penalty"]
    assert charged > 0  # the path did break the tolerance: the test compares something
    assert scalars[0].config.reward.drawdown_penalty == 0.5  # the config keeps the configured penalty
