"""The learner registry: the built-in learners, and one added from this file (DDPG, which the project
does not ship) trained, evaluated and resumed with no edit to the package."""

from importlib import metadata

import numpy as np
import pandas as pd
import pytest
from stable_baselines3 import A2C, DDPG

from cryptofolio.agents import learners
from cryptofolio.agents.learners import Budgets, learner, names, register, sb3_learner
from cryptofolio.agents.sb3 import load_policy, run_env
from cryptofolio.cli import main
from cryptofolio.envs import MarketConfig, synthetic_market
from cryptofolio.evaluation.evaluate import evaluate
from cryptofolio.training.callbacks import hparam_columns
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

DDPG_CONFIG = """
default:
  n_timesteps: 300
  n_envs: 2
  eval_freq: 100
  checkpoint_freq: 200
  env: {episode_length: 60}
  policy: MlpPolicy
  learning_starts: 50
  buffer_size: 2000
  batch_size: 32
  noise_type: normal
  noise_std: 0.1
  policy_kwargs: {net_arch: [16, 16]}
"""


@pytest.fixture(scope="module")
def ddpg(tmp_path_factory):
    """DDPG registered from this file, with its config file beside its runs."""
    config = tmp_path_factory.mktemp("configs") / "ddpg.yaml"
    config.write_text(DDPG_CONFIG)
    entry = register(sb3_learner("ddpg", DDPG, config=config, budgets=Budgets(quick=400)))
    yield entry
    learners.LEARNERS.pop("ddpg")


@pytest.fixture
def unregistered_after():
    """Names registered by a test, dropped from the registry after it."""
    added: list[str] = []
    yield added
    for name in added:
        learners.LEARNERS.pop(name, None)


def test_the_built_in_learners_keep_their_budgets():
    assert names()[:6] == ("ppo", "sac", "a2c", "td3", "recurrent_ppo", "direct")
    budgets = {name: learner(name).budgets for name in names()[:6]}
    assert {name: b.quick for name, b in budgets.items()} == {
        "ppo": 1_024, "sac": 400, "a2c": 1_024, "td3": 400, "recurrent_ppo": 512, "direct": 1_024,
    }  # fmt: skip
    assert {name: b.study for name, b in budgets.items() if b.study} == {"ppo": 100_000, "sac": 20_000}
    assert {name: (b.demo, b.demo_quick) for name, b in budgets.items() if b.demo} == {
        "ppo": (200_000, 2_048),
        "sac": (30_000, 600),
    }
    assert [name for name in names()[:6] if learner(name).replay_buffer] == ["sac", "td3"]
    assert [name for name in names()[:6] if learner(name).trains_on == "portfolio_env"] == ["direct"]


def test_an_unknown_learner_is_named_with_the_known_ones():
    known = "ppo, sac, a2c, td3, recurrent_ppo, direct"
    with pytest.raises(ValueError, match=rf"^unknown algo 'dqn'; choose from {known}"):
        learner("dqn")


def test_a_name_is_registered_once(ddpg):
    assert register(ddpg) is ddpg  # the same entry again: no change
    with pytest.raises(ValueError, match="a learner named 'ddpg' is registered already"):
        register(sb3_learner("ddpg", A2C))


def test_a_learner_added_from_outside_trains_evaluates_and_resumes(ddpg, tmp_path):
    config = resolve_config("ddpg", seed=0)
    assert config.hyperparams["noise_type"] == "normal" and config.n_timesteps == 300
    run = RunFolder.create(tmp_path, config)
    first = train(config, run)
    assert first.timesteps >= 300 and (run.path / "checkpoint" / "replay_buffer.npz").is_file()

    market, splits = MarketConfig().load()
    evaluation = evaluate([run.path], ["moderate", "equal_weight"], market, splits, "test", resamples=400)
    assert {run.path.name, "moderate", "equal_weight"} <= set(evaluation.metrics.index)
    assert np.isfinite(evaluation.metrics.loc[run.path.name, "sharpe"])

    more = resolve_config("ddpg", seed=0, n_timesteps=first.timesteps + 200)
    run.write_config(more)
    second = train(more, run, resume=True)
    assert second.timesteps >= first.timesteps + 200
    evaluations = pd.read_csv(run.path / "evaluations.csv")
    assert evaluations["timesteps"].is_monotonic_increasing
    assert evaluations["timesteps"].iloc[-1] == second.timesteps

    env = run_env(run.path, synthetic_market(seed=0), split="validation")
    policy = load_policy(run.path, which="final", env=env)
    observation, _ = env.reset(seed=0)
    expected, _ = second.model.predict(
        second.model.get_vec_normalize_env().normalize_obs(observation), deterministic=True
    )
    np.testing.assert_array_equal(policy.predict(observation)[0], expected)


def test_a_learner_without_a_config_file_fails_alone(unregistered_after, tmp_path, capsys):
    register(sb3_learner("a2c_without_config", A2C))
    unregistered_after.append("a2c_without_config")
    with pytest.raises(FileNotFoundError, match=r"configs/a2c_without_config\.yaml does not exist"):
        resolve_config("a2c_without_config")
    columns = hparam_columns(resolve_config("ppo"))  # PPO's run reads no other learner's file
    assert {"hp/n_steps", "hp/buffer_size", "hp/policy_kwargs/net_arch"} <= set(columns)
    assert main(["train", "--algo", "a2c_without_config", "--out", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("cryptofolio train: error: learner 'a2c_without_config' has no config file")


PLUGIN = sb3_learner("a2c_plugin", A2C)
"""A learner an installed package would publish in the entry-point group ``cryptofolio.learners``."""


def test_the_command_line_sees_learners_published_as_entry_points(monkeypatch, unregistered_after, capsys):
    point = metadata.EntryPoint("a2c_plugin", f"{__name__}:PLUGIN", learners.ENTRY_POINTS)
    published = {learners.ENTRY_POINTS: [point]}
    monkeypatch.setattr(metadata, "entry_points", lambda group: published.get(group, []))
    learners._load_entry_points.cache_clear()
    unregistered_after.append("a2c_plugin")
    try:
        assert learner("a2c_plugin") is PLUGIN
        with pytest.raises(SystemExit):
            main(["train", "--help"])
        assert "a2c_plugin" in capsys.readouterr().out
    finally:
        learners._load_entry_points.cache_clear()
