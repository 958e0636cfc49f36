"""The gradient agent trains on the env's own objective, through the ledger's differentiable twin."""

import numpy as np
import pytest
import torch

from cryptofolio.agents.direct import DirectAgent, _mean_weights, direct_agent
from cryptofolio.envs import PortfolioEnv, synthetic_market
from cryptofolio.envs.profiles import model_portfolios

MARKET = synthetic_market(seed=0)


def agent_on(env: PortfolioEnv, **hyperparams) -> DirectAgent:
    settings = {"n_steps": 20, "policy_kwargs": {"net_arch": [16, 16]}, **hyperparams}
    return direct_agent(settings, policy="MlpPolicy", n_envs=4, normalize=True, env=env, seed=0)


def residual_env(**options) -> PortfolioEnv:
    return PortfolioEnv(MARKET, split="train", residual=True, trade_band=0.05, features="summary", **options)


def test_the_untrained_agent_holds_the_profiles_model_portfolio():
    env = residual_env()
    agent = agent_on(env)
    obs, _ = env.reset(seed=0)
    action, _ = agent.predict(agent.normalizer.normalize_obs(obs))
    np.testing.assert_array_equal(action, np.zeros(len(env.symbols), dtype=np.float32))
    weights = env.target_weights(action, env.bar, env.drifted_weights)
    np.testing.assert_allclose(weights, model_portfolios("moderate", MARKET)[env.bar], atol=1e-15)


@pytest.mark.parametrize(
    "options",
    [
        {"residual": True, "trade_band": 0.05, "features": "summary"},
        {"turnover_penalty": 0.01, "action_penalty": 0.01, "decision_every": 3, "fee": 0.002},
        {"drawdown_mode": "increase", "drawdown_penalty": 2.0, "slippage": 0.001},
    ],
)
def test_the_trained_objective_is_the_envs_reward_to_1e_12(options):
    env = PortfolioEnv(MARKET, split="train", **options)
    agent = agent_on(env)
    with torch.no_grad():  # move the network off the zero action, so trades and penalties happen
        for parameter in agent.network.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.5)
    starts = np.array([env.first_start, env.first_start + 100, env.last_start - 19])
    with torch.no_grad():
        rollout = agent._rollout(starts)
    for k, start in enumerate(starts):
        obs, _ = env.reset(options={"start": int(start)})
        for step in range(20):
            np.testing.assert_array_equal(rollout["observations"][k, step], obs)
            action, _ = agent.predict(agent.normalizer.normalize_obs(obs))
            obs, reward, _, _, info = env.step(action)
            assert rollout["rewards"][k, step].item() == pytest.approx(reward, abs=1e-12)
            assert rollout["values"][k, step + 1] == pytest.approx(info["portfolio_value"], abs=1e-12)
            np.testing.assert_allclose(rollout["weights"][k, step], info["weights"], atol=1e-12)
            assert rollout["fees"][k, step] == pytest.approx(info["fees"], abs=1e-15)


def test_gradient_ascent_raises_the_training_objective():
    env = PortfolioEnv(MARKET, split="train")
    agent = agent_on(env, learning_rate=3e-3)
    windows = np.random.default_rng(1).integers(env.first_start, env.last_start - 20, size=64)

    def objective() -> float:
        with torch.no_grad():
            return agent._rollout(windows)["rewards"].mean().item()

    before = objective()
    for _ in range(30):
        loss = -agent._rollout(agent._starts())["rewards"].mean()
        agent.optimizer.zero_grad()
        loss.backward()
        agent.optimizer.step()
    assert objective() > before + 1e-4


def test_saved_weights_reload_exactly_and_misshapen_ones_are_refused(tmp_path):
    env = residual_env()
    agent = agent_on(env)
    (-agent._rollout(agent._starts())["rewards"].mean()).backward()
    agent.optimizer.step()  # Adam has state now
    agent.write(tmp_path, resumable=True)
    other = agent_on(env)
    other.read(tmp_path, resumable=True)
    for mine, theirs in zip(agent.network.parameters(), other.network.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    adam, reread = agent.optimizer.state_dict()["state"], other.optimizer.state_dict()["state"]
    assert adam.keys() == reread.keys() and len(adam) == 6
    for index, state in adam.items():
        assert all(torch.equal(value, reread[index][name]) for name, value in state.items())
    wider = agent_on(env, policy_kwargs={"net_arch": [32, 16]})
    with pytest.raises(ValueError, match=r"model\.npz: holds arrays .* expected"):
        wider.read(tmp_path)


def test_a_pickled_array_in_the_weights_is_refused_unread(tmp_path):
    env = residual_env()
    agent = agent_on(env)
    arrays = {k: v.numpy() for k, v in agent.network.state_dict().items()}
    arrays["0.weight"] = np.array([object()], dtype=object)
    np.savez(tmp_path / "model.npz", **arrays)
    with pytest.raises(ValueError, match=r"model\.npz: not a NumPy archive of arrays"):
        agent.read(tmp_path)


@pytest.mark.parametrize(
    ("policy_kwargs", "message"),
    [
        ({"net_arch": {"pi": [8]}}, "takes a list of layer sizes"),
        ({"log_std_init": -1.0}, "takes net_arch and activation_fn"),
    ],
)
def test_policy_settings_it_cannot_use_are_refused(policy_kwargs, message):
    with pytest.raises(ValueError, match=message):
        agent_on(residual_env(), policy_kwargs=policy_kwargs)


def test_each_assets_mean_weight_counts_the_windows_that_do_not_trade_it_as_zero():
    weights = np.array([[[0.4, 0.6]], [[1.0, 0.0]]])  # (2 windows, 1 step, cash + one asset)
    columns = np.array([[0, 2], [0, 1]])  # the first window trades column 2, the second column 1
    np.testing.assert_allclose(_mean_weights(weights, columns, 3), [0.7, 0.0, 0.3], atol=1e-15)
    np.testing.assert_allclose(_mean_weights(weights, None, 2), [0.7, 0.3], atol=1e-15)
