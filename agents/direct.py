"""The gradient agent (``--algo direct``): a policy network trained on exact gradients of the env's objective.

Without market impact, prices do not depend on the agent: given them, the reward of a run of
bars (log growth net of fees, minus the env's penalties) is a differentiable function of the
weights chosen. Like EIIE's "online stochastic batch learning" (Jiang et al. 2017), the agent
ascends that objective directly, through :mod:`cryptofolio.envs.differentiable`, the torch twin
of the env's ledger, reward and action mapping (tested equal to them to 1e-12).

One update (:meth:`DirectAgent.learn`) draws ``n_envs`` windows of ``n_steps`` bars from the train
split (a block-bootstrap resample of it with ``bootstrap_block``), runs the policy through each
from all cash as an episode of the env does, and takes an Adam step up the mean per-step
reward. Observations come from the env's one feature module; the weights and drawdown in them
are inputs (no gradient flows through the observation, as through EIIE's portfolio-vector
memory), while the gradient through the ledger is exact: fees (``mu`` by implicit
differentiation), drift, value, peak and drawdown. The policy is deterministic: the network's
``tanh`` output is the env's action, mapped to weights by the env's own options (free or
residual tilts, band, decision interval). The output layer starts at zero, so the untrained
policy is the zero action: the profile's model portfolio with residual actions, equal weights
without. The reward's settings are read from the env's ``parameters`` at each update, so a
drawdown multiplier set on it (``RewardConfig.budget_rate``, :meth:`PortfolioEnv.set_drawdown_penalty`)
reaches the twin from the next update on.

Observations are normalized by statistics of the untrained policy's first rollout, frozen
from then on. A snapshot holds ``model.npz`` (the network's weights) and, in ``checkpoint/``,
``optimizer.npz`` (Adam's state): NumPy arrays read with ``allow_pickle=False``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger

from cryptofolio.agents.hyperparameters import algo_kwargs
from cryptofolio.agents.snapshots import (
    NORMALIZATION,
    SPACES,
    ObservationNormalizer,
    check_npz,
    frozen_normalizer,
    read_arrays,
    read_spaces,
    read_state,
)
from cryptofolio.envs import PortfolioEnv
from cryptofolio.envs.differentiable import action_size, step_reward, target_weights, trade_and_hold
from cryptofolio.envs.errors import ConfigError
from cryptofolio.envs.reward import RewardState

if TYPE_CHECKING:
    from cryptofolio.agents.learners import RunSettings

WEIGHTS, OPTIMIZER = "model.npz", "optimizer.npz"
CLIP, EPSILON = 10.0, 1e-8
"""Normalized observations are clipped to [-CLIP, CLIP]; EPSILON is added to their variance."""


class DirectAgent:
    """A deterministic policy network trained by gradient ascent through the differentiable ledger.

    It answers what the trainer asks of a stable-baselines3 algorithm (``learn`` with callbacks,
    ``predict``, ``num_timesteps``, ``set_logger``, ``get_vec_normalize_env``), so one training
    loop, one validation and one run-folder layout serve every algorithm.

    :param policy: ``MlpPolicy``, the only one.
    :param env: a PortfolioEnv on the train split (prices, features, anchor, costs and reward
        are read from it); None for prediction only (then give ``spaces``).
    :param learning_rate: Adam's step size, or a schedule of the remaining progress (1 to 0).
    :param n_steps: bars per training window (fewer if the split is shorter).
    :param max_grad_norm: gradients are clipped to this global norm.
    :param policy_kwargs: ``net_arch`` (hidden layer sizes) and ``activation_fn`` (a torch module class).
    :param n_envs: windows per update (the run's ``n_envs``).
    :param normalize: normalize observations (statistics frozen after the first rollout).
    :param seed: seed of the network's initialization and of the windows drawn.
    :param weights: a ``model.npz`` the network will be read from: its arrays' shapes are checked
        against the network's (planned on torch's meta device) before the network is allocated.
    :param device: torch device of the network and the ledger (``cpu``, ``cuda``).
    :param spaces: (observation, action) spaces when there is no env.
    """

    def __init__(
        self,
        policy: str = "MlpPolicy",
        env: PortfolioEnv | None = None,
        learning_rate: float | Callable[[float], float] = 1e-3,
        n_steps: int = 64,
        max_grad_norm: float = 1.0,
        policy_kwargs: dict[str, Any] | None = None,
        *,
        n_envs: int = 32,
        normalize: bool = True,
        seed: int | None = None,
        device: str = "cpu",
        spaces: tuple[gym.spaces.Box, gym.spaces.Box] | None = None,
        weights: Path | None = None,
    ) -> None:
        if policy != "MlpPolicy":
            raise ConfigError(f"policy={policy!r}: the direct agent has one policy, MlpPolicy")
        kwargs = dict(policy_kwargs or {})
        unknown = set(kwargs) - {"net_arch", "activation_fn"}
        if unknown:
            raise ConfigError(
                f"policy_kwargs.{sorted(unknown)[0]}: the direct agent takes net_arch and activation_fn"
            )
        net_arch = kwargs.get("net_arch", [64, 64])
        if not isinstance(net_arch, list):
            raise ConfigError(
                f"policy_kwargs.net_arch={net_arch!r}: the direct agent takes a list of layer sizes"
            )
        activation: type[torch.nn.Module] = kwargs.get("activation_fn", torch.nn.Tanh)
        if spaces is None and env is not None:
            spaces = (env.observation_space, env.action_space)  # type: ignore[assignment]
        if spaces is None:
            raise ValueError("a direct agent needs an env to train on, or the spaces to predict in")
        self.observation_space, self.action_space = spaces
        self.env = env
        self.learning_rate = learning_rate
        self.n_steps, self.max_grad_norm, self.n_envs = n_steps, max_grad_norm, n_envs
        self.device = torch.device(device)
        self.num_timesteps = 0
        self._logger: Logger | None = None
        self._rng = np.random.default_rng(seed)
        if seed is not None:
            torch.manual_seed(seed)
        sizes = int(self.observation_space.shape[0]), int(self.action_space.shape[0])
        if weights is not None:
            with torch.device("meta"):
                planned = self._make_network(*sizes, net_arch, activation).state_dict()
            check_npz(weights, {k: (tuple(v.shape), "float") for k, v in planned.items()})
        self.network = self._make_network(*sizes, net_arch, activation).to(
            self.device, torch.float64
        )  # float64: a batch's rows and a single row agree to ~1e-16
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=self._rate(1.0))
        self.normalizer: ObservationNormalizer | None = None
        if env is not None:
            market = env.market
            self._available, self._anchor, self._relatives = (
                torch.tensor(array, device=self.device)
                for array in (market.available, env.anchor, env.relatives)
            )
            self._fit_inputs(normalize)

    def _make_network(
        self, n_inputs: int, n_actions: int, net_arch: list[int], activation: type[torch.nn.Module]
    ) -> torch.nn.Module:
        """The policy network from (D,) observations to (N+1,) actions: an MLP (:func:`_network`)."""
        return _network(n_inputs, n_actions, net_arch, activation)

    def _fit_inputs(self, normalize: bool) -> None:
        """Fit the observation normalization on the untrained policy's first rollout (if ``normalize``)."""
        if normalize:
            observations = self._first_observations()
            flat = observations.reshape(-1, observations.shape[-1]).astype(np.float64)
            self.normalizer = ObservationNormalizer(flat.mean(axis=0), flat.var(axis=0), EPSILON, CLIP)

    def _first_observations(self) -> np.ndarray:
        """(B, L, D) raw observations of a rollout of the untrained policy."""
        with torch.no_grad():
            observations: np.ndarray = self._rollout(*self._draw())["observations"]
        return observations

    # --- what the trainer and the policy wrapper call --------------------------------------------

    @property
    def logger(self) -> Logger:
        """The logger set by :meth:`set_logger` (TensorBoard and progress.csv)."""
        if self._logger is None:
            raise RuntimeError("set_logger() first")
        return self._logger

    def set_logger(self, logger: Logger) -> None:
        self._logger = logger

    def get_env(self) -> None:
        """No vectorized env: windows are drawn from :attr:`env` directly."""
        return None

    def get_vec_normalize_env(self) -> ObservationNormalizer | None:
        """The frozen observation normalization (None without normalization)."""
        return self.normalizer

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, None]:
        """Float64 actions for (D,) or (B, D) normalized observations: (N+1,) or (B, N+1), in (-1, 1)."""
        with torch.no_grad():
            inputs = torch.as_tensor(np.asarray(observation, dtype=np.float64), device=self.device)
            actions = self.network(inputs).cpu().numpy()
        return actions, None

    def learn(
        self,
        total_timesteps: int,
        callback: BaseCallback,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> DirectAgent:
        """Take updates until ``total_timesteps`` more env steps (windows x bars) have been trained.

        ``callback.on_step()`` runs after each update, with the rollout's arrays in
        ``callback.locals["rollout"]``; training stops early when it returns False.
        """
        if self.env is None:
            raise RuntimeError("this direct agent was loaded for prediction; give an env to train")
        if reset_num_timesteps:
            self.num_timesteps = 0
        end = self.num_timesteps + total_timesteps
        callback.init_callback(self)  # type: ignore[arg-type]
        callback.on_training_start(locals(), globals())
        bar = _progress_bar(total_timesteps) if progress_bar else None
        started, first = time.perf_counter(), self.num_timesteps
        while self.num_timesteps < end:
            for group in self.optimizer.param_groups:
                group["lr"] = self._rate(1.0 - self.num_timesteps / end)
            rollout = self._rollout(*self._draw())
            loss = -rollout["rewards"].mean()
            self.optimizer.zero_grad()
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.max_grad_norm)
            self.optimizer.step()
            steps = rollout["rewards"].numel()
            self.num_timesteps += steps
            if bar is not None:
                bar.update(steps)
            record = self.logger.record
            record("train/loss", float(loss.detach()))
            record("train/grad_norm", float(norm))
            record("train/learning_rate", self.optimizer.param_groups[0]["lr"])
            record("time/fps", int((self.num_timesteps - first) / (time.perf_counter() - started)))
            callback.update_locals({"rollout": _numbers(rollout)})
            if not callback.on_step():
                break
            self.logger.dump(self.num_timesteps)
        if bar is not None:
            bar.close()
        callback.on_training_end()
        return self

    # --- files ---------------------------------------------------------------------------------------

    def write(self, folder: Path, resumable: bool = False) -> None:
        """Write ``model.npz`` (and Adam's state as ``optimizer.npz`` if ``resumable``) into ``folder``."""
        weights = {k: v.detach().cpu().numpy() for k, v in self.network.state_dict().items()}
        np.savez(folder / WEIGHTS, **weights)  # type: ignore[arg-type]
        if resumable:
            arrays: dict[str, np.ndarray] = {}
            for index, state in self.optimizer.state_dict()["state"].items():
                for name, value in state.items():
                    arrays[f"{name}.{index}"] = value.detach().cpu().numpy()
            np.savez(folder / OPTIMIZER, **arrays)  # type: ignore[arg-type]

    def read(self, folder: Path, resumable: bool = False) -> None:
        """Load the weights written by :meth:`write` (and Adam's state if ``resumable``), shapes checked.

        :raises RunFolderError: naming the file, for missing, extra or misshapen arrays.
        """
        mine = self.network.state_dict()
        weights = read_arrays(folder / WEIGHTS, {k: (tuple(v.shape), "float") for k, v in mine.items()})
        self.network.load_state_dict({k: torch.as_tensor(v, device=self.device) for k, v in weights.items()})
        if not resumable:
            return
        expected: dict[str, tuple[tuple[int, ...], str]] = {}
        for index, parameter in enumerate(self.network.parameters()):
            shape = tuple(parameter.shape)
            expected |= {
                f"step.{index}": ((), "float"),
                f"exp_avg.{index}": (shape, "float"),
                f"exp_avg_sq.{index}": (shape, "float"),
            }
        arrays = read_arrays(folder / OPTIMIZER, expected, empty_too=True)
        if not arrays:  # saved before the first update: Adam has no state yet
            return
        state = self.optimizer.state_dict()
        state["state"] = {
            index: {
                name: torch.as_tensor(arrays[f"{name}.{index}"], device=self.device)
                for name in ("step", "exp_avg", "exp_avg_sq")
            }
            for index in range(len(list(self.network.parameters())))
        }
        self.optimizer.load_state_dict(state)

    # --- training ------------------------------------------------------------------------------------

    def _rate(self, progress_remaining: float) -> float:
        rate = self.learning_rate
        return float(rate(progress_remaining) if callable(rate) else rate)

    def _window_steps(self) -> int:
        env = self.env
        assert env is not None
        return min(self.n_steps, env.last_start + 1 - env.first_start)

    def _starts(self) -> np.ndarray:
        """(n_envs,) first bars of windows drawn uniformly from the train split."""
        env = self.env
        assert env is not None
        latest = env.last_start + 1 - self._window_steps()
        return self._rng.integers(env.first_start, latest + 1, size=self.n_envs)

    def _draw(self) -> tuple[np.ndarray, np.ndarray | None]:
        """An update's windows: their (n_envs,) first bars and (:meth:`_columns`) their assets."""
        starts = self._starts()
        return starts, self._columns(starts)

    def _columns(self, starts: np.ndarray) -> np.ndarray | None:
        """(B, k+1) the env's columns (cash first) each window trades, or None: all of them."""
        return None

    def _rollout(self, starts: np.ndarray, columns: np.ndarray | None = None) -> dict[str, Any]:
        """Run the policy through windows starting at ``starts``, from all cash, as the env's episodes.

        :param columns: (B, k+1) the env's columns each window trades (cash, column 0, first), as a
            market of those assets alone would; None: every column.
        :return: ``rewards`` (B, L) tensor (with gradients when enabled) and, as (B, L) or
            (B, L, .) arrays: ``observations`` (raw), ``values`` (B, L+1), ``turnover``, ``fees``,
            ``weights`` (targets), ``log_growth``; ``symbols``, the env's (N+1,), and
            ``mean_weights`` (N+1,), each one's target weight averaged over every window and step
            (0 where a window does not trade it).
        """
        env = self.env
        assert env is not None
        p, features, device = env.parameters, env.features, self.device
        n_windows, n_steps = len(starts), self._window_steps()
        f64 = torch.float64
        value = torch.full((n_windows,), env.config.initial_value, dtype=f64, device=device)
        state = RewardState.start(value, torch.zeros_like(value))  # peak, drawdown, moving moments
        if columns is not None and self._anchor.shape[0]:
            raise ValueError("a residual anchor is the env's own assets': windows of other columns have none")
        chosen = None if columns is None else torch.as_tensor(columns, device=device)

        def pick(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            return table[rows] if chosen is None else torch.gather(table[rows], 1, chosen)

        width = len(env.symbols) if columns is None else columns.shape[1]
        drifted = torch.zeros((n_windows, width), dtype=f64, device=device)
        drifted[:, 0] = 1.0
        alive = torch.ones(n_windows, dtype=torch.bool, device=device)
        keep: dict[str, list[Any]] = {
            k: [] for k in ("observations", "turnover", "fees", "weights", "log_growth")
        }
        rewards, values = [], [value.detach()]
        for step in range(n_steps):
            bars = starts + step
            rows = torch.as_tensor(bars, device=device)
            observation = features.observations(
                bars, drifted.detach().cpu().numpy(), state.drawdown.detach().cpu().numpy(), columns
            )
            inputs = observation if self.normalizer is None else self.normalizer.normalize_obs(observation)
            actions = self.network(torch.as_tensor(inputs, dtype=torch.float64, device=device))
            decide = rows % p.decision_every == 0
            targets = target_weights(
                actions,
                drifted,
                listed=pick(self._available, rows),
                anchor=self._anchor[rows] if self._anchor.shape[0] else None,
                tilt=p.tilt,
                dial_cap=p.dial_cap,
                band=p.trade_band,
                decide=decide,
            )
            fees, turnover, next_value, drifted = trade_and_hold(
                value, drifted, targets, pick(self._relatives, rows), p.cost_rate
            )
            size = action_size(actions) * decide if p.reward.action_penalty > 0.0 else 0.0
            reward, terms, state = step_reward(value, next_value, turnover, size, step, state, p.reward)
            rewards.append(torch.where(alive, reward, torch.zeros_like(reward)))  # nothing after ruin
            alive = alive & (next_value >= p.ruin_value)
            value = next_value
            values.append(value.detach())
            for name, item in (
                ("observations", observation),
                ("turnover", turnover),
                ("fees", fees),
                ("weights", targets),
                ("log_growth", terms.log_growth),
            ):
                keep[name].append(item)
        observations = np.stack(keep.pop("observations"), axis=1)
        arrays = {name: torch.stack(items, dim=1).detach().cpu().numpy() for name, items in keep.items()}
        return {
            "rewards": torch.stack(rewards, dim=1),
            "values": torch.stack(values, dim=1).cpu().numpy(),
            "observations": observations,
            **arrays,
            "symbols": env.symbols,
            "mean_weights": _mean_weights(arrays["weights"], columns, len(env.symbols)),
        }


def direct_agent(
    hyperparams: dict[str, Any],
    *,
    policy: str,
    n_envs: int,
    normalize: bool,
    env: PortfolioEnv | None = None,
    seed: int | None = None,
    spaces: tuple[gym.spaces.Box, gym.spaces.Box] | None = None,
    weights: Path | None = None,
) -> DirectAgent:
    """The agent a run's settings describe (hyperparameters as plain data, as in ``config.yaml``);
    ``weights``: the ``model.npz`` it will read, checked before its network is built."""
    n_actions = int((env.action_space if env is not None else spaces[1]).shape[0])  # type: ignore[index]
    kwargs = algo_kwargs(hyperparams, n_actions)
    return DirectAgent(
        policy, env, **kwargs, n_envs=n_envs, normalize=normalize, seed=seed, spaces=spaces, weights=weights
    )


def make_direct(config: RunSettings, env: PortfolioEnv, seed: int) -> DirectAgent:
    """The untrained agent of a run, on the PortfolioEnv of its train split (the registry's ``make``)."""
    return direct_agent(
        config.hyperparams,
        policy=config.policy,
        n_envs=config.n_envs,
        normalize=config.normalize,
        env=env,
        seed=seed,
    )


def save_direct(model: DirectAgent, folder: Path, resumable: bool) -> None:
    """Write ``model.npz`` (and ``optimizer.npz`` if ``resumable``) into a snapshot folder (``save``)."""
    model.write(folder, resumable)


def load_direct(
    folder: Path, config: Mapping[str, Any], env: PortfolioEnv | None, seed: int | None
) -> DirectAgent:
    """The agent of a snapshot folder (the registry's ``load``), its arrays read without pickle.

    :param env: the PortfolioEnv of the train split to continue on (with Adam's state), or None.
    """
    if env is not None and not isinstance(env, PortfolioEnv):
        raise TypeError("the gradient agent continues on a PortfolioEnv of its train split")
    spaces = read_spaces(folder / SPACES, None if env is None else (env.observation_space, env.action_space))
    agent = direct_agent(
        config.get("hyperparams") or {},
        policy=config.get("policy", "MlpPolicy"),
        n_envs=int(config["n_envs"]),
        normalize=False,
        env=env,
        seed=seed,
        spaces=spaces,
        weights=folder / WEIGHTS,
    )
    agent.read(folder, resumable=env is not None)
    agent.num_timesteps = read_state(folder)["timesteps"]
    if (folder / NORMALIZATION).is_file():
        agent.normalizer = frozen_normalizer(folder / NORMALIZATION, int(spaces[0].shape[0]))
    return agent


def _network(
    n_inputs: int, n_actions: int, net_arch: list[int], activation: type[torch.nn.Module]
) -> torch.nn.Sequential:
    """MLP from observations to actions in (-1, 1); the output layer starts at zero (the zero action)."""
    layers: list[torch.nn.Module] = []
    size = n_inputs
    for width in net_arch:
        layers += [torch.nn.Linear(size, width), activation()]
        size = width
    output = torch.nn.Linear(size, n_actions)
    torch.nn.init.zeros_(output.weight)
    torch.nn.init.zeros_(output.bias)
    return torch.nn.Sequential(*layers, output, torch.nn.Tanh())


def _numbers(rollout: dict[str, Any]) -> dict[str, Any]:
    """The rollout's arrays and symbols without its gradient-carrying tensors, for callbacks."""
    return {k: v for k, v in rollout.items() if not isinstance(v, torch.Tensor)}


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="step")


def _mean_weights(weights: np.ndarray, columns: np.ndarray | None, n_columns: int) -> np.ndarray:
    """(n_columns,) each env column's weight averaged over (B, L, k+1) ``weights`` of windows that
    trade ``columns`` (B, k+1) of it (None: every column, in order)."""
    if columns is None:
        return weights.mean(axis=(0, 1))
    total = np.zeros(n_columns)
    np.add.at(total, columns, weights.sum(axis=1))
    return total / (weights.shape[0] * weights.shape[1])
