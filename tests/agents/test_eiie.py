"""The shared per-asset policy: equivariant, any universe, the ledger's numbers, no look-ahead."""

import dataclasses

import numpy as np
import pytest
import torch

from cryptofolio.agents.eiie import EIIEAgent, eiie_agent, pool_env
from cryptofolio.agents.hyperparameters import check_hyperparameters
from cryptofolio.envs import MarketConfig, MarketData, PortfolioEnv, synthetic_market
from cryptofolio.envs.errors import ConfigError, RunFolderError
from tests.helpers import market_of_columns

SETTINGS = {"n_steps": 20, "policy_kwargs": {"net_arch": [16, 16]}}
POOL = synthetic_market(seed=0, symbols=("BTC", "ETH", "SOL", "AVAX", "LINK", "DOGE", "LTC"))


def agent_on(env: PortfolioEnv, *, run_env: PortfolioEnv | None = None, **hyperparams) -> EIIEAgent:
    """An agent drawing windows from ``env``, for a run on ``run_env`` (default: ``env``)."""
    run = run_env or env
    return EIIEAgent(
        env=env,
        **SETTINGS,
        **hyperparams,
        n_envs=4,
        seed=0,
        spaces=(run.observation_space, run.action_space),
    )


def shaken(agent: EIIEAgent, scale: float = 0.5) -> EIIEAgent:
    """Move the network off the zero action, so that it trades."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in agent.network.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * scale)
    return agent


def free_env(market: MarketData, **options) -> PortfolioEnv:
    return PortfolioEnv(market, split="train", features="summary", trade_band=0.05, **options)


def test_the_untrained_agent_holds_cash_and_each_listed_asset_equally():
    env = free_env(POOL)
    agent = agent_on(env)
    obs, _ = env.reset(options={"start": env.first_start})
    action, _ = agent.predict(obs)
    np.testing.assert_array_equal(action, np.zeros(len(env.symbols)))
    listed = POOL.available[env.bar]
    expected = listed / listed.sum()
    np.testing.assert_allclose(env.target_weights(action, env.bar, env.drifted_weights), expected, atol=1e-15)


def test_permuting_the_assets_permutes_the_weights():
    order = [0, 5, 2, 7, 1, 4, 3, 6]  # cash stays first
    permuted = market_of_columns(POOL, order)
    env, other = free_env(POOL), free_env(permuted)
    agent = shaken(agent_on(env))
    obs, _ = env.reset(options={"start": 500})
    obs_p, _ = other.reset(options={"start": 500})
    for _ in range(30):
        action, _ = agent.predict(obs)
        action_p, _ = agent.predict(obs_p)
        np.testing.assert_allclose(action_p, action[order], atol=1e-12)
        obs, _, _, _, info = env.step(action)
        obs_p, _, _, _, info_p = other.step(action_p)
        assert info_p["portfolio_value"] == pytest.approx(info["portfolio_value"], rel=1e-12)
        np.testing.assert_allclose(info_p["weights"], info["weights"][order], atol=1e-12)
    assert np.abs(info["weights"] - 1 / 8).max() > 0.05  # the shaken policy is not equal weight


def test_one_policy_acts_on_a_universe_of_any_size():
    agent = shaken(agent_on(free_env(POOL)))
    for columns in ([0, 3], [0, 6, 1, 2], list(range(8))):
        env = free_env(market_of_columns(POOL, columns))
        obs, _ = env.reset(options={"start": 700})
        for _ in range(5):
            action, _ = agent.predict(obs)
            assert action.shape == (len(columns),) and np.all(np.abs(action) < 1)
            obs, _, _, _, info = env.step(action)
        assert info["weights"].sum() == pytest.approx(1.0, abs=1e-12)


def test_a_pooled_window_earns_what_the_env_of_its_assets_pays_to_1e_12():
    env = free_env(POOL, fee=0.002, turnover_penalty=0.01)
    agent = shaken(agent_on(env, universe=3))
    starts = np.array([env.first_start + 10, 900])
    columns = np.array([[0, 5, 2, 7], [0, 1, 4, 3]])
    with torch.no_grad():
        rollout = agent._rollout(starts, columns)
    for k, start in enumerate(starts):
        alone = free_env(market_of_columns(POOL, list(columns[k])), fee=0.002, turnover_penalty=0.01)
        obs, _ = alone.reset(options={"start": int(start)})
        for step in range(20):
            np.testing.assert_array_equal(rollout["observations"][k, step], obs)
            action, _ = agent.predict(obs)
            obs, reward, _, _, info = alone.step(action)
            assert rollout["rewards"][k, step].item() == pytest.approx(reward, abs=1e-12)
            assert rollout["values"][k, step + 1] == pytest.approx(info["portfolio_value"], abs=1e-12)
            np.testing.assert_allclose(rollout["weights"][k, step], info["weights"], atol=1e-12)


def test_windows_trade_assets_listed_at_their_start_first():
    close, available = POOL.close.copy(), POOL.available.copy()
    close[:800, 3:6], available[:800, 3:6] = np.nan, False  # SOL, AVAX, LINK list at bar 800
    late = dataclasses.replace(POOL, close=close, available=available)
    env = free_env(late)
    starts = np.full(200, env.first_start)  # before the listing: four assets listed
    listed = {1, 2, 6, 7}
    four = agent_on(env, universe=4)._columns(starts)
    assert four.shape == (200, 5) and np.all(four[:, 0] == 0)
    assert all(set(row[1:]) == listed for row in four)  # the listed ones, and only they
    six = agent_on(env, universe=6)._columns(starts)
    assert all(set(row[1:5]) == listed and set(row[5:]) < {3, 4, 5} for row in six)  # then later ones
    assert len({tuple(row) for row in four}) > 1  # in drawn order, not fixed


def test_training_reads_nothing_after_the_train_split():
    env = free_env(POOL)
    later = POOL.close.copy()
    later[env.split_bars.stop :, 1:] *= np.random.default_rng(0).uniform(
        0.2, 5.0, size=later[env.split_bars.stop :, 1:].shape
    )
    changed = dataclasses.replace(POOL, close=later)
    trained = []
    for market in (POOL, changed):
        agent = agent_on(free_env(market, splits=env.splits), universe=4)
        for _ in range(3):
            loss = -agent._rollout(*agent._draw())["rewards"].mean()
            agent.optimizer.zero_grad()
            loss.backward()
            agent.optimizer.step()
        trained.append(torch.cat([p.detach().flatten() for p in agent.network.state_dict().values()]))
    assert torch.equal(trained[0], trained[1])


def test_gradient_steps_on_pooled_windows_raise_their_objective():
    env = free_env(POOL)
    agent = agent_on(env, universe=4, learning_rate=3e-3)
    rng = np.random.default_rng(1)
    starts = rng.integers(env.first_start, env.last_start - 20, size=64)
    columns = np.column_stack([np.zeros(64, int), [rng.permutation(np.arange(1, 8))[:4] for _ in range(64)]])

    def objective() -> float:
        with torch.no_grad():
            return agent._rollout(starts, columns)["rewards"].mean().item()

    before = objective()
    for _ in range(20):
        loss = -agent._rollout(starts, columns)["rewards"].mean()
        agent.optimizer.zero_grad()
        loss.backward()
        agent.optimizer.step()
    assert objective() > before + 1e-4  # from -8.6e-4 to 7.9e-5 per bar when written


def test_the_pool_is_every_asset_of_the_source_split_at_the_runs_dates():
    run_market = synthetic_market(seed=0)  # the moderate profile's nine assets
    run_env = free_env(run_market)
    pooled = pool_env(run_env, MarketConfig(), "market")
    assert set(run_env.symbols) < set(pooled.symbols) and len(pooled.symbols) == 21
    for name in ("train", "validation"):
        mine, theirs = run_env.splits[name], pooled.splits[name]
        assert run_market.timestamps[mine.start] == pooled.market.timestamps[theirs.start]
        assert run_market.timestamps[mine.stop - 1] == pooled.market.timestamps[theirs.stop - 1]
    assert pool_env(run_env, MarketConfig(), "own") is run_env
    assert pool_env(run_env, MarketConfig(), ["BTC", "DOGE"]).symbols == ("USDC", "BTC", "DOGE")


@pytest.mark.parametrize(
    ("hyperparams", "options", "message"),
    [
        ({"pool": ["BTC", "NOPE"]}, {}, "pool: NOPE is not an asset of synthetic"),
        ({}, {"bootstrap_block": 30}, "set bootstrap_block: 0"),
        ({"universe": 30}, {}, "universe=30: windows trade between 1 and the pool's 20 assets"),
        ({"pool": "own", "universe": 3}, {}, "with pool: own, windows trade the run's 9 assets"),
        ({}, {"normalize": True}, "set normalize: false"),
    ],
)
def test_settings_it_cannot_use_are_refused_with_the_reason(hyperparams, options, message):
    run_env = free_env(synthetic_market(seed=0))
    settings = {"bootstrap_block": 0, "normalize": False, **options}
    with pytest.raises(ConfigError, match=message):
        eiie_agent(
            {**SETTINGS, **hyperparams},
            run_env,
            source=MarketConfig(),
            policy="MlpPolicy",
            n_envs=2,
            seed=0,
            **settings,
        )


def test_a_residual_anchor_trains_on_the_runs_own_assets_only():
    run_env = PortfolioEnv(synthetic_market(seed=0), split="train", residual=True, features="summary")
    common = {"source": MarketConfig(), "bootstrap_block": 0, "policy": "MlpPolicy", "n_envs": 2,
              "normalize": False, "seed": 0}  # fmt: skip
    with pytest.raises(ConfigError, match="train it with pool: own"):
        eiie_agent(SETTINGS, run_env, **common)
    agent = eiie_agent({**SETTINGS, "pool": "own"}, run_env, **common)
    obs, _ = run_env.reset(seed=0)
    action, _ = agent.predict(obs)  # the zero action: the profile's model portfolio
    np.testing.assert_array_equal(action, np.zeros(len(run_env.symbols)))


@pytest.mark.parametrize("pool", ["all", [], ["BTC", 3]])
def test_a_pool_that_is_not_a_word_or_symbols_is_refused(pool):
    with pytest.raises(ConfigError, match="pool="):
        check_hyperparameters(EIIEAgent, {"pool": pool})


def test_a_run_resumes_only_on_the_pool_it_trained_on(tmp_path):
    env = free_env(POOL)
    agent = agent_on(env, universe=3)
    agent.write(tmp_path, resumable=True)
    again = agent_on(free_env(POOL), universe=3)
    again.read(tmp_path, resumable=True)  # the same data: continues
    for name, value in agent.network.state_dict().items():
        assert torch.equal(again.network.state_dict()[name], value)
    other = agent_on(free_env(synthetic_market(seed=1, symbols=POOL.symbols[1:])), universe=3)
    with pytest.raises(RunFolderError, match=r"pool\.json: the pooled assets or their data changed"):
        other.read(tmp_path, resumable=True)
    other.read(tmp_path)  # to predict, the pool is not needed
