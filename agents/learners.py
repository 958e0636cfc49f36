"""The learner registry: each learner says how it is made, saved, loaded, what it trains on, its config
file and its budgets, so that nothing else in the project names one.

Built in: stable-baselines3's ``ppo``, ``sac``, ``a2c``, ``td3``, sb3-contrib's ``recurrent_ppo``
and the gradient agent ``direct`` (:mod:`cryptofolio.agents.direct`); ``ppo_budget`` and
``direct_budget`` are PPO and the gradient agent anchored on the profile's budget-keeping rule,
``hedge`` the gradient agent anchored on the Hedge allocator over the profile's rule library
(:mod:`cryptofolio.agents.hedge`; their config files), ``eiie`` the shared per-asset policy trained
on pooled assets (:mod:`cryptofolio.agents.eiie`). Add your own from Python::

    from stable_baselines3 import DDPG
    from cryptofolio.agents.learners import Budgets, register, sb3_learner

    register(sb3_learner("ddpg", DDPG, config="ddpg.yaml", budgets=Budgets(quick=400)))

after which :func:`~cryptofolio.training.train.train`, ``evaluate`` and ``load_policy`` take
``algo="ddpg"`` like any other (``examples/register_learner.py`` trains and evaluates one). For
the command line (``cryptofolio train --algo ddpg``, ``--resume``, ``evaluate``, ...) to see it,
publish the entry in the entry-point group ``cryptofolio.learners`` of an installed package::

    [project.entry-points."cryptofolio.learners"]
    ddpg = "my_package.learners:DDPG"    # a Learner object

The group is read the first time a learner the registry does not hold is asked for, or the
names of all of them (:func:`names`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Literal, Protocol

import gymnasium as gym
import numpy as np
from sb3_contrib import RecurrentPPO
from stable_baselines3 import A2C, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from cryptofolio import configs
from cryptofolio.agents.direct import DirectAgent, load_direct, make_direct, save_direct
from cryptofolio.agents.eiie import EIIEAgent, load_eiie, make_eiie
from cryptofolio.agents.hyperparameters import algo_kwargs
from cryptofolio.agents.snapshots import MODEL, SPACES, load_model, read_spaces
from cryptofolio.envs import MarketConfig, PortfolioEnv
from cryptofolio.envs.errors import ConfigError

ENTRY_POINTS = "cryptofolio.learners"
"""The entry-point group whose Learner objects the registry adds (for the command line)."""
TrainsOn = Literal["vec_env", "portfolio_env"]


class RunSettings(Protocol):
    """What a learner is made from: the run's settings (:class:`~cryptofolio.training.config.TrainConfig`)."""

    @property
    def policy(self) -> str: ...
    @property
    def hyperparams(self) -> dict[str, Any]: ...
    @property
    def n_envs(self) -> int: ...
    @property
    def normalize(self) -> bool: ...
    @property
    def market(self) -> MarketConfig: ...
    @property
    def bootstrap_block(self) -> int: ...


class Model(Protocol):
    """A learner's model, as the trainer and :class:`~cryptofolio.agents.sb3.TrainedPolicy` use it
    (stable-baselines3's interface)."""

    num_timesteps: int

    @property
    def observation_space(self) -> gym.Space: ...
    @property
    def action_space(self) -> gym.Space: ...
    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]: ...
    def learn(
        self, total_timesteps: int, *, callback: Any, reset_num_timesteps: bool, progress_bar: bool
    ) -> Any: ...
    def set_logger(self, logger: Any) -> None: ...
    def get_vec_normalize_env(self) -> Any: ...


Make = Callable[[RunSettings, Any, int], Model]
"""(run settings, training env of the learner's ``trains_on`` kind, seed) -> the untrained model."""
Save = Callable[[Any, Path, bool], None]
"""(model, snapshot folder being built, resumable) -> the model's own files written into the folder."""
Load = Callable[[Path, Mapping[str, Any], Any, int | None], Model]
"""(snapshot folder, the run's config as plain data, env to continue on or None, seed) -> the model."""


@dataclass(frozen=True)
class Budgets:
    """A learner's training budgets, in environment steps, by who trains it."""

    quick: int = 1_024
    """Each run of a ``--quick`` smoke test (``cryptofolio study --quick``): a few rollouts."""
    study: int | None = None
    """Each unit of ``cryptofolio study``; None: the config file's ``n_timesteps``."""
    demo: int | None = None
    """Each run of ``cryptofolio demo``; None: the demo does not train this learner."""
    demo_quick: int | None = None
    """Each run of ``cryptofolio demo --quick`` (with ``demo``)."""
    demo_quick_settings: tuple[str, ...] = ()
    """``--set`` overrides of ``demo --quick``'s runs, fitting the run to that budget (``n_steps=64``)."""


@dataclass(frozen=True)
class Learner:
    """One learner: everything the trainer, the run folder and the loaders need to know of it."""

    name: str
    """What ``--algo`` takes and a run's config.yaml records as ``algo``."""
    algorithm: type[Any]
    """The model's class; its constructor's parameters are the hyperparameters a config may set."""
    make: Make
    """Build the untrained model (:data:`Make`)."""
    save: Save
    """Write the model's own files into a snapshot folder (:data:`Save`); the run folder adds the
    normalization, spaces, state, replay buffer and manifest."""
    load: Load
    """Read a snapshot folder back, running no code from it (:data:`Load`); its manifest is checked first."""
    trains_on: TrainsOn = "vec_env"
    """``vec_env``: a VecEnv of PortfolioEnvs (or the batched env), normalized unless the config says
    not. ``portfolio_env``: the one PortfolioEnv of the train split, whose arrays the learner reads
    to draw its own windows; its ``learn`` gives callbacks each rollout's arrays as
    ``locals["rollout"]`` (as the gradient agent's ``learn`` does)."""
    config: str | Path | None = None
    """Its hyperparameter file (layout of ``configs/ppo.yaml``): None for the project's
    ``configs/<name>.yaml``, else a path (relative: to the working folder)."""
    replay_buffer: bool = False
    """Off-policy: a checkpoint keeps its replay buffer, and resuming refills it."""
    budgets: Budgets = field(default_factory=Budgets)
    """Its training budgets."""

    @property
    def config_path(self) -> Path:
        """Where its hyperparameter file is (or should be)."""
        if self.config is not None:
            return Path(self.config)
        return Path(str(resources.files(configs) / f"{self.name}.yaml"))


def register(entry: Learner) -> Learner:
    """Add ``entry`` to the registry (again: no change), and return it.

    :raises ValueError: when another learner holds its name.
    """
    known = LEARNERS.get(entry.name)
    if known is not None and known != entry:
        raise ValueError(f"a learner named {entry.name!r} is registered already")
    LEARNERS[entry.name] = entry
    return entry


def learner(name: str) -> Learner:
    """The learner called ``name``.

    :raises ConfigError: naming the registered learners, for an unknown name.
    """
    if name not in LEARNERS:
        _load_entry_points()
    if name not in LEARNERS:
        raise ConfigError(f"unknown algo {name!r}; choose from {', '.join(LEARNERS)}")
    return LEARNERS[name]


def names() -> tuple[str, ...]:
    """Every learner's name, the entry-point group's included."""
    _load_entry_points()
    return tuple(LEARNERS)


@functools.cache
def _load_entry_points() -> None:
    for point in metadata.entry_points(group=ENTRY_POINTS):
        entry = point.load()
        if not isinstance(entry, Learner):
            raise ConfigError(f"entry point {point.name} = {point.value} ({ENTRY_POINTS}) is not a Learner")
        register(entry)


# --- stable-baselines3's algorithms ------------------------------------------------------------------


def sb3_learner(
    name: str,
    algorithm: type[BaseAlgorithm],
    *,
    config: str | Path | None = None,
    budgets: Budgets | None = None,
) -> Learner:
    """The entry of a stable-baselines3 (or sb3-contrib) algorithm trained on a VecEnv.

    :param config: its hyperparameter file (None: ``configs/<name>.yaml``).
    """
    return Learner(
        name=name,
        algorithm=algorithm,
        make=functools.partial(make_sb3, algorithm),
        save=save_sb3,
        load=functools.partial(load_sb3, algorithm),
        config=config,
        replay_buffer=issubclass(algorithm, OffPolicyAlgorithm),
        budgets=budgets or Budgets(),
    )


def direct_learner(name: str) -> Learner:
    """The gradient agent's entry under ``name`` (its hyperparameters in ``configs/<name>.yaml``)."""
    return Learner(
        name=name,
        algorithm=DirectAgent,
        make=make_direct,
        save=save_direct,
        load=load_direct,
        trains_on="portfolio_env",
        budgets=Budgets(quick=1_024),
    )


def eiie_learner(name: str) -> Learner:
    """The shared per-asset policy's entry under ``name`` (:mod:`cryptofolio.agents.eiie`)."""
    return dataclasses.replace(direct_learner(name), algorithm=EIIEAgent, make=make_eiie, load=load_eiie)


def make_sb3(algorithm: type[BaseAlgorithm], config: RunSettings, env: Any, seed: int) -> BaseAlgorithm:
    """``algorithm`` on the training VecEnv ``env``, from the run's policy and hyperparameters."""
    kwargs = algo_kwargs(config.hyperparams, int(env.action_space.shape[0]))
    return algorithm(config.policy, env, seed=seed, device="cpu", **kwargs)


def save_sb3(model: BaseAlgorithm, folder: Path, resumable: bool) -> None:
    """stable-baselines3's archive, ``model.zip`` (the replay buffer is the run folder's to save)."""
    model.save(folder / MODEL)


def load_sb3(
    algorithm: type[BaseAlgorithm], folder: Path, config: Mapping[str, Any], env: Any, seed: int | None
) -> BaseAlgorithm:
    """``model.zip`` of ``folder`` with nothing unpickled (:func:`~cryptofolio.agents.snapshots.load_model`).

    :param env: the VecEnv to continue training on, or None.
    """
    if isinstance(env, PortfolioEnv):
        raise TypeError("stable-baselines3 models continue on a VecEnv")
    spaces = read_spaces(folder / SPACES, None if env is None else (env.observation_space, env.action_space))
    policy, hyperparams = config.get("policy", "MlpPolicy"), config.get("hyperparams") or {}
    template = model_template(algorithm, policy, hyperparams, int(spaces[1].shape[0]))
    return load_model(folder / MODEL, algorithm, template, spaces, env)


def model_template(
    algorithm: type[BaseAlgorithm], policy: str, hyperparams: dict[str, Any], n_actions: int
) -> BaseAlgorithm:
    """The algorithm as its constructor builds it from these settings, without networks or an env."""
    kwargs = algo_kwargs(hyperparams, n_actions)
    return algorithm(policy, env=None, device="cpu", _init_setup_model=False, **kwargs)  # type: ignore[call-arg]


# The study's budgets (PPO 100,000, SAC 20,000 a unit) let the full study train within an hour on two
# cores: benchmarks/study_budgets.py (moderate, six folds, two seeds) found the model a budget ends with
# no better on validation than the untrained policy at any budget up to the configs' (PPO 200,000, SAC
# 50,000); a longer budget raises only the best of more checkpoints.
BUILT_IN: tuple[Learner, ...] = (
    sb3_learner(
        "ppo",
        PPO,
        budgets=Budgets(
            quick=1_024,
            study=100_000,
            demo=200_000,
            demo_quick=2_048,
            demo_quick_settings=("eval_freq=600", "n_steps=64"),
        ),
    ),
    sb3_learner(
        "sac",
        SAC,
        budgets=Budgets(
            quick=400, study=20_000, demo=30_000, demo_quick=600, demo_quick_settings=("eval_freq=300",)
        ),
    ),
    sb3_learner("a2c", A2C, budgets=Budgets(quick=1_024)),
    sb3_learner("td3", TD3, budgets=Budgets(quick=400)),
    # sb3-contrib: an LSTM policy, whose state predict carries
    sb3_learner("recurrent_ppo", RecurrentPPO, budgets=Budgets(quick=512)),
    direct_learner("direct"),
    # On the risk budget: the same learners anchored on <profile>+voltarget+ddbrake (their YAML files)
    sb3_learner("ppo_budget", PPO, budgets=Budgets(quick=1_024, study=100_000)),
    direct_learner("direct_budget"),
    # On the experts: the gradient agent anchored on the Hedge allocator over the profile's rule library
    direct_learner("hedge"),
    # One policy shared across assets, trained on every asset of the market pooled
    eiie_learner("eiie"),
)
"""The project's own learners."""
LEARNERS: dict[str, Learner] = {entry.name: entry for entry in BUILT_IN}
"""Every registered learner by name, the built-in ones first; add to it with :func:`register`."""
