"""Your own policy in a comparison: a rule, a stable-baselines3 model or any object with ``predict``,
its decisions checked at every bar.

:class:`OwnPolicy` answers the common ``predict`` for one env, like the project's own policies,
and refuses, naming the policy and the bar, what the ledger would otherwise have to reshape:

- a :class:`~cryptofolio.agents.Rule`'s target weights must be (N+1,) finite, non-negative, sum to
  one (to 1e-9) and put nothing on an asset not listed at the bar (unless they are the weights
  held: no trade);
- any other policy's action must be (N+1,) (or SB3's batched (1, N+1)) finite and inside the env's
  action space, [-1, 1] (the env would clip it);
- a policy that declares an ``observation_space`` or ``action_space`` (an SB3 model, a
  :class:`~cryptofolio.agents.TrainedPolicy`) must declare the env's shapes.

An exception raised inside your policy's own code is not caught: its traceback points at your line.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from cryptofolio.agents.base import Policy, Rule
from cryptofolio.envs import PortfolioEnv, weights_to_action
from cryptofolio.envs.errors import ConfigError

WEIGHT_TOLERANCE = 1e-9
"""How far from one a rule's target weights may sum."""


class OwnPolicy:
    """``policy`` (a rule or anything with ``predict``) bound to ``env``, its outputs checked.

    :param name: the policy's name in the report and in messages.
    :param policy: a :class:`~cryptofolio.agents.Rule` instance, or an object with SB3's
        ``predict(observation, state, episode_start, deterministic) -> (action, state)``.
    :param env: the env it is backtested on.
    :raises ConfigError: for an object that is neither, or declares spaces other than the env's.
    """

    def __init__(self, name: str, policy: Policy | Rule, env: PortfolioEnv) -> None:
        if isinstance(policy, type):
            raise ConfigError(f"policy {name}: {policy.__name__} is a class; give an instance of it")
        if not isinstance(policy, Rule) and not callable(getattr(policy, "predict", None)):
            raise ConfigError(
                f"policy {name}: a {type(policy).__name__} has neither predict(observation, state, "
                "episode_start, deterministic) nor target_weights(view, weights, first) (a Rule)"
            )
        if not isinstance(policy, Rule):
            _check_declared_spaces(name, policy, env)
        self.name = name
        self.policy = policy
        self.env = env

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        env = self.env
        if isinstance(self.policy, Rule):
            view, held = env.market_view(), env.drifted_weights
            target = self.policy.target_weights(view, held.copy(), env.episode_steps == 0)
            return weights_to_action(self._checked_weights(target, view.available[-1], held)), state
        action, state = self.policy.predict(
            observation, state=state, episode_start=episode_start, deterministic=deterministic
        )
        return self._checked_action(action), state

    def _where(self) -> str:
        return f"policy {self.name} at {self.env.market_view().now:%Y-%m-%d %H:%M}"

    def _checked_weights(self, target: Any, listed: np.ndarray, held: np.ndarray) -> np.ndarray:
        n = len(self.env.symbols)
        weights = np.asarray(target)
        if weights.dtype.kind not in "fiu" or weights.shape != (n,):
            raise ConfigError(
                f"{self._where()}: target weights of shape {weights.shape} ({weights.dtype}), expected {n} "
                f"numbers: cash then {', '.join(self.env.symbols[1:])}"
            )
        weights = weights.astype(np.float64)
        if not np.all(np.isfinite(weights)) or np.any(weights < -WEIGHT_TOLERANCE):
            raise ConfigError(
                f"{self._where()}: target weights must be finite and >= 0, got {weights.tolist()}"
            )
        total = float(weights.sum())
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise ConfigError(f"{self._where()}: target weights sum to {total:.12g}, expected 1")
        weights = np.maximum(weights, 0.0)  # rounding's -2e-16 (1 - a sum of 1/20ths) is none
        unlisted = [self.env.symbols[i] for i in np.flatnonzero((weights > 0) & ~listed.astype(bool))]
        if unlisted and not np.array_equal(weights, held):  # the weights held: do not trade
            raise ConfigError(
                f"{self._where()}: target weights hold {', '.join(unlisted)}, not listed at this bar "
                "(MarketView.available is False there)"
            )
        return weights

    def _checked_action(self, action: Any) -> np.ndarray:
        n = len(self.env.symbols)
        array = np.asarray(action)
        if array.shape == (1, n):  # SB3's predict on a batch of one
            array = array[0]
        if array.dtype.kind not in "fiu" or array.shape != (n,):
            raise ConfigError(
                f"{self._where()}: action of shape {array.shape} ({array.dtype}), expected {n} numbers in "
                "[-1, 1] (cash first)"
            )
        array = array.astype(np.float64)
        if not np.all(np.isfinite(array)) or np.any(np.abs(array) > 1.0):
            raise ConfigError(
                f"{self._where()}: action must be finite and inside [-1, 1] (the env's action space), "
                f"got {array.tolist()}"
            )
        return array


def _check_declared_spaces(name: str, policy: Any, env: PortfolioEnv) -> None:
    """Refuse a policy (or its ``model``) that declares spaces of other shapes than ``env``'s."""
    owner = policy if hasattr(policy, "observation_space") else getattr(policy, "model", None)
    for kind, theirs in (("observation", env.observation_space), ("action", env.action_space)):
        mine = getattr(owner, f"{kind}_space", None)
        if mine is None:
            continue
        if not isinstance(mine, gym.spaces.Box) or mine.shape != theirs.shape:
            shape = getattr(mine, "shape", None)
            raise ConfigError(
                f"policy {name} expects {kind}s of shape {shape}, but the env gives {theirs.shape}: "
                "evaluate it on the assets, window and observation options it was trained with"
            )
