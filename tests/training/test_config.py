"""Config resolution: YAML default < profile entry < --set < command-line options."""

import dataclasses
import re

import pytest
import torch
import yaml
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.utils import LinearSchedule

from cryptofolio.agents.hyperparameters import algo_kwargs
from cryptofolio.agents.sb3 import read_run_config
from cryptofolio.envs import EnvConfig, MarketConfig, SplitDates
from cryptofolio.envs.config import from_data, to_data
from cryptofolio.envs.errors import ConfigError, RunFolderError
from cryptofolio.training.config import TrainConfig, parse_value, resolve_config
from cryptofolio.training.run_folder import RunFolder
from tests.envs.test_config import documented_fields


@pytest.fixture
def hyperparams(tmp_path):
    path = tmp_path / "ppo.yaml"
    path.write_text(
        "default:\n  n_envs: 4\n  learning_rate: 1.0e-3\n"
        "  policy_kwargs: {net_arch: [8, 8], activation_fn: tanh}\n  env: {observation: {window: 20}}\n"
        "aggressive:\n  learning_rate: 5.0e-4\n  env: {reward: {drawdown_penalty: 1.0}}\n"
    )
    return path


def test_the_profile_entry_overrides_the_default(hyperparams):
    config = resolve_config("ppo", "aggressive", hyperparams_file=hyperparams)
    assert config.hyperparams["learning_rate"] == 5e-4 and config.n_envs == 4
    assert config.env == EnvConfig().with_options(window=20, drawdown_penalty=1.0)  # nested entries merge
    assert (
        resolve_config("ppo", "moderate", hyperparams_file=hyperparams).hyperparams["learning_rate"] == 1e-3
    )


def test_overrides_then_explicit_values_win(hyperparams):
    config = resolve_config(
        "ppo", "aggressive", hyperparams_file=hyperparams,
        overrides=["learning_rate=3e-4", "policy_kwargs.net_arch=[32,32]", "n_envs=2"], n_envs=6, seed=None,
    )  # fmt: skip
    assert config.hyperparams["learning_rate"] == 3e-4
    assert config.hyperparams["policy_kwargs"] == {"net_arch": [32, 32], "activation_fn": "tanh"}
    assert config.n_envs == 6 and config.seed == 0  # None means "not given"


@pytest.mark.parametrize(
    ("text", "value"), [("3e-4", 3e-4), ("64", 64), ("true", True), ("[64, 64]", [64, 64]), ("tanh", "tanh")]
)
def test_values_are_read_as_numbers_booleans_or_yaml(text, value):
    assert parse_value(text) == value


def test_schedules_activations_and_noise_are_built_in_one_place(hyperparams):
    config = resolve_config("ppo", hyperparams_file=hyperparams, overrides=["learning_rate=lin_1e-3"])
    kwargs = algo_kwargs(config.hyperparams, n_actions=3)
    assert isinstance(kwargs["learning_rate"], LinearSchedule) and kwargs["learning_rate"](
        0.5
    ) == pytest.approx(5e-4)
    assert kwargs["policy_kwargs"]["activation_fn"] is torch.nn.Tanh
    td3 = algo_kwargs(resolve_config("td3").hyperparams, n_actions=3)
    assert isinstance(td3["action_noise"], NormalActionNoise)


def test_a_config_round_trips_through_plain_data():
    splits = SplitDates(train=("a", "b"), validation=("c", "d"), test=("e", "f"))
    config = resolve_config(
        "sac",
        market=MarketConfig(assets=("BTC", "ETH"), splits=splits),
        overrides=["env.costs.slippage=0.001"],
    )
    assert from_data(TrainConfig, yaml.safe_load(yaml.safe_dump(to_data(config)))) == config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algo": "dqn"}, "unknown algo 'dqn'"),
        (
            {"algo": "ppo", "profile": "yolo"},
            "profile must be one of conservative, moderate, aggressive, got 'yolo'",
        ),
        ({"algo": "ppo", "overrides": ["selection_metric=max_drawdown"]}, "selection_metric must be one of"),
        ({"algo": "ppo", "overrides": ["n_envs=0"]}, "n_envs must be from 1 to 1,024"),
        (
            {"algo": "ppo", "overrides": ["n_steps=100000000"]},
            "n_steps=100000000: expected a whole number from 1 to 1,000,000",
        ),
        ({"algo": "sac", "overrides": ["n_epochs=3"]}, "SAC has no hyperparameter n_epochs"),
        ({"algo": "ppo", "overrides": ["learning_rate"]}, "expected key=value"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_config(**kwargs)


def test_every_training_field_has_a_docstring():
    assert documented_fields(TrainConfig) == {f.name for f in dataclasses.fields(TrainConfig)}


def test_a_run_folder_of_the_flat_config_format_is_refused_clearly(tmp_path):
    (tmp_path / "config.yaml").write_text(
        "algo: ppo\nprofile: moderate\nmarket: synthetic\nmarket_seed: 0\nenv: {}\n"
    )
    with pytest.raises(ValueError, match=r"config\.yaml: written by an earlier version of cryptofolio"):
        RunFolder(tmp_path).read_config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("default:\n  n_envs: 4\nmoderat:\n  n_envs: 2\n", "moderat: not an entry; a config holds default"),
        (
            "default:\n  n_envs: 4\n  n_envs: 8\n",
            "not valid YAML at line 3, column 3 (key 'n_envs' given twice)",
        ),
        ("base: &b {n_envs: 4}\ndefault: *b\n", "anchors are not read"),
    ],
)
def test_a_config_that_could_be_read_two_ways_is_refused_naming_the_line(tmp_path, text, message):
    path = tmp_path / "ppo.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve_config("ppo", hyperparams_file=path)


def test_a_number_reads_the_same_in_a_file_as_on_the_command_line(tmp_path):
    path = tmp_path / "ppo.yaml"
    path.write_text("default:\n  learning_rate: 3e-4\n  gamma: 0.99\n")
    from_file = resolve_config("ppo", hyperparams_file=path)
    from_option = resolve_config("ppo", hyperparams_file=path, overrides=["learning_rate=3e-4"])
    assert from_file.hyperparams["learning_rate"] == from_option.hyperparams["learning_rate"] == 3e-4


def test_a_run_folders_config_with_a_key_twice_is_refused(tmp_path):
    (tmp_path / "config.yaml").write_text("algo: ppo\nprofile: moderate\nprofile: aggressive\n")
    with pytest.raises(
        RunFolderError, match=r"config.yaml: not a run's config at line 3 \(key 'profile' given twice\)"
    ):
        read_run_config(tmp_path)
