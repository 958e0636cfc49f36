"""An ensemble of trained runs: the mean of their target weights, traded once through the ledger.

Each member decides as it would alone (its own action, mapped to weights by its own run's
options: residual tilt, band, decision interval, from the same drifted weights); the
ensemble's target is the mean of those weights. The ensemble trades on an env with free
actions (:meth:`~cryptofolio.envs.config.EnvConfig.for_rules`), which reaches any target
exactly (:func:`~cryptofolio.envs.actions.weights_to_action`), so the ledger sees one portfolio
and one trade, as for any policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cryptofolio.agents.sb3 import TrainedPolicy
from cryptofolio.envs import PortfolioEnv
from cryptofolio.envs.actions import weights_to_action
from cryptofolio.envs.errors import RunFolderError


class EnsemblePolicy:
    """The mean of several trained policies' target weights, answering ``predict`` for one env.

    :param members: the runs' policies; their observations must be the env's (same features
        and window), which :meth:`TrainedPolicy.check_spaces` checks.
    :param mappings: each member's own env on the same market and split (its run's options),
        used only to map its action to weights.
    :param env: the env the ensemble trades on: free actions, the comparison's costs.
    :param name: the ensemble's name in backtests and reports.
    """

    def __init__(
        self,
        members: Sequence[TrainedPolicy],
        mappings: Sequence[PortfolioEnv],
        env: PortfolioEnv,
        name: str = "ensemble",
    ) -> None:
        if not members or len(members) != len(mappings):
            raise ValueError("an ensemble needs at least one member, each with its own env")
        if not env.config.actions.free:
            raise ValueError("an ensemble trades its mean weights on an env with free actions (for_rules())")
        for member, mapping in zip(members, mappings, strict=True):
            member.check_spaces(env.observation_space, env.action_space, described_as=f"run {member.name}")
            if mapping.market is not env.market and mapping.market.fingerprint() != env.market.fingerprint():
                raise RunFolderError(f"run {member.name}'s env is on another market than the ensemble's")
        self.members, self.mappings, self.env, self.name = list(members), list(mappings), env, name

    def member_weights(
        self, observation: np.ndarray, bar: int, drifted: np.ndarray, states: list[Any], first: bool
    ) -> tuple[np.ndarray, list[Any]]:
        """(M, N+1) each member's target weights at ``bar`` from ``drifted`` weights, and their new states.

        :param first: whether this is the episode's first decision (a recurrent member's reset).
        """
        start = np.array([first])
        rows, new_states = [], []
        for member, mapping, state in zip(self.members, self.mappings, states, strict=True):
            action, state = member.predict(observation, state=state, episode_start=start, deterministic=True)
            rows.append(mapping.target_weights(action, bar, drifted))
            new_states.append(state)
        return np.array(rows), new_states

    def target_weights(
        self, observation: np.ndarray, bar: int, drifted: np.ndarray, states: list[Any] | None = None
    ) -> tuple[np.ndarray, list[Any]]:
        """(N+1,) the mean of the members' target weights at ``bar``, and the members' new states."""
        first = states is None
        weights, states = self.member_weights(
            observation, bar, drifted, states or [None] * len(self.members), first
        )
        mean = weights.mean(axis=0)
        return mean / mean.sum(), states

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """The free action that trades the env to the members' mean weights; ``state`` holds each member's."""
        env = self.env
        if env.episode_steps == 0:
            state = None
        weights, states = self.target_weights(observation, env.bar, env.drifted_weights, state)
        return weights_to_action(weights), states
