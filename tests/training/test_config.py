"""Config resolution: YAML default < profile entry < --set < command-line options."""

import pytest
import torch
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.utils import LinearSchedule

from training.config import TrainConfig, algo_kwargs, parse_value, resolve_config


@pytest.fixture
def hyperparams(tmp_path):
    path = tmp_path / "ppo.yaml"
    path.write_text(
        "default:\n  n_envs: 4\n  learning_rate: 1.0e-3\n"
        "  policy_kwargs: {net_arch: [8, 8], activation_fn: tanh}\n  env: {window: 20}\n"
        "aggressive:\n  learning_rate: 5.0e-4\n  env: {drawdown_penalty: 1.0}\n"
    )
    return path


def test_the_profile_entry_overrides_the_default(hyperparams):
    config = resolve_config("ppo", "aggressive", hyperparams_file=hyperparams)
    assert config.hyperparams["learning_rate"] == 5e-4 and config.n_envs == 4
    assert config.env == {"window": 20, "drawdown_penalty": 1.0}  # nested entries merge
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
    kwargs = algo_kwargs(config, n_actions=3)
    assert isinstance(kwargs["learning_rate"], LinearSchedule) and kwargs["learning_rate"](
        0.5
    ) == pytest.approx(5e-4)
    assert kwargs["policy_kwargs"]["activation_fn"] is torch.nn.Tanh
    assert isinstance(algo_kwargs(resolve_config("td3"), n_actions=3)["action_noise"], NormalActionNoise)


def test_a_config_round_trips_through_plain_data():
    config = resolve_config(
        "sac",
        assets=("BTC", "ETH"),
        splits={"train": ("a", "b"), "validation": ("c", "d"), "test": ("e", "f")},
    )
    assert TrainConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algo": "dqn"}, "unknown algo 'dqn'"),
        ({"algo": "ppo", "profile": "yolo"}, "unknown profile 'yolo'"),
        ({"algo": "ppo", "overrides": ["selection_metric=max_drawdown"]}, "selection_metric must be one of"),
        ({"algo": "ppo", "overrides": ["n_envs=0"]}, "n_envs must be at least 1"),
        ({"algo": "sac", "overrides": ["n_epochs=3"]}, "SAC has no hyperparameter n_epochs"),
        ({"algo": "ppo", "overrides": ["learning_rate"]}, "must be key=value"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_config(**kwargs)
