"""BatchedPortfolioEnv: B portfolios on one market, stepped in one vectorized call.

A stable-baselines3 ``VecEnv`` equal to B :class:`~cryptofolio.envs.PortfolioEnv` in a
``DummyVecEnv``: one compiled loop steps every portfolio through PortfolioEnv's own kernels
(the action mapping, the ledger, the reward and the observation of the modules ``actions``,
``ledger``, ``reward`` and ``features`` of :mod:`cryptofolio.envs`), with no Python loop over
portfolios. ``seed(s)`` gives portfolio i the seed ``s + i`` as DummyVecEnv does, so B
PortfolioEnvs seeded ``s + i`` and stepped with the same actions give the same
observations, rewards, dones and infos.

The portfolios are rows of arrays, not PortfolioEnv objects, so ``get_attr`` answers the
state of each portfolio from its row (:data:`PER_PORTFOLIO`), every other public setting from
the one PortfolioEnv they share, and refuses the rest (:data:`REFUSED`, private names) with an
``AttributeError`` that names it; ``env_method`` calls only :data:`METHODS`; ``set_attr`` is refused.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from numba import njit
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from cryptofolio.envs.actions import action_size, fill_targets
from cryptofolio.envs.features import fill_observation
from cryptofolio.envs.ledger import trade_and_hold
from cryptofolio.envs.market import MarketData, MarketView
from cryptofolio.envs.portfolio_env import PortfolioEnv, step_info
from cryptofolio.envs.reward import (
    INFO_KEYS,
    NO_TERMS,
    RewardState,
    RewardTerms,
    record_dtype,
    reward,
    write_state,
    write_terms,
)

INFO_MODES = ("full", "done")
_FLOWS = ("fees", "turnover", "portfolio_value", "reward")
_STATS = np.dtype([(name, np.float64) for name in _FLOWS] + record_dtype(RewardTerms).descr)
"""The per-step statistics the kernel writes for each portfolio: the ledger's flows, the reward, its terms."""
_STAT_KEYS = {name: name for name in _FLOWS} | dict(zip(RewardTerms._fields, INFO_KEYS, strict=True))
"""The :attr:`~BatchedPortfolioEnv.last_step` key of each statistic (a term's is its info key)."""
_STATES = record_dtype(RewardState)
_FLAGS = ("terminated", "truncated", "dones")
PER_PORTFOLIO = ("bar", "episode_steps", "drifted_weights", "np_random", "np_random_seed")
"""PortfolioEnv attributes ``get_attr`` answers from each portfolio's own state."""
REFUSED = ("market_view", "render", "reset", "step", "unwrapped", "get_wrapper_attr", "set_wrapper_attr")
"""Public PortfolioEnv attributes bound to one episode's state, which the shared env would answer wrongly."""
METHODS = ("market_view", "target_weights", "episode_bounds")
"""What ``env_method`` calls: ``market_view`` per portfolio, the others (pure) on the shared env."""


@njit(cache=True)
def _step_portfolios(
    actions: np.ndarray,
    available: np.ndarray,
    anchor: np.ndarray,
    relatives: np.ndarray,
    returns: np.ndarray,
    table: np.ndarray,
    listed: np.ndarray,
    lags: int,
    bars: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    values: np.ndarray,
    drifted: np.ndarray,
    states: np.ndarray,
    parameters: np.ndarray,
    targets: np.ndarray,
    next_drifted: np.ndarray,
    stats: np.ndarray,
    next_states: np.ndarray,
    flags: np.ndarray,
    observations: np.ndarray,
) -> int:
    """One step of every portfolio through PortfolioEnv's kernels; outputs go to the last six arrays.

    :param states: (B,) each portfolio's :class:`~cryptofolio.envs.reward.RewardState` as a record.
    :param parameters: the env's :class:`~cryptofolio.envs.portfolio_env.StepParameters`, as a record.
    :param stats: (B,) records of :data:`_STATS`; :param next_states: (B,) the states after the step.
    :return: the first portfolio whose action has a non-finite entry, or -1.
    """
    p = parameters[0]
    for k in range(actions.shape[0]):
        t = bars[k]
        if not fill_targets(
            actions,
            k,
            available,
            anchor,
            t,
            p.tilt,
            p.dial_cap,
            p.trade_band,
            p.decision_every,
            drifted,
            targets,
        ):
            return k
        fees, turnover, value = trade_and_hold(
            values[k], drifted, targets, relatives, t, k, p.cost_rate, next_drifted
        )
        size = 0.0
        if p.reward.action_penalty > 0.0 and t % p.decision_every == 0:  # an ignored action costs nothing
            size = action_size(actions, k)
        total, terms, state = reward(values[k], value, turnover, size, t - starts[k], states[k], p.reward)
        row = stats[k]
        row.fees, row.turnover, row.portfolio_value, row.reward = fees, turnover, value, total
        write_terms(terms, row)
        write_state(state, next_states[k])
        terminated = value < p.ruin_value
        truncated = not terminated and t + 1 >= ends[k]
        flags[0, k], flags[1, k], flags[2, k] = terminated, truncated, terminated or truncated
        fill_observation(returns, table, listed, lags, t + 1, next_drifted, k, state.drawdown, observations)
    return -1


class BatchedPortfolioEnv(VecEnv):
    """B portfolios of :class:`~cryptofolio.envs.PortfolioEnv` stepped together (see the module docstring).

    Finished episodes reset automatically, with stable-baselines3's conventions: the final
    observation is in ``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]``
    tells a truncation from a termination. Rewards are float32, as DummyVecEnv's (float64 in
    :attr:`last_step`).

    :param n_envs: B, the number of portfolios.
    :param market: as PortfolioEnv (default: the synthetic market).
    :param infos: ``"full"``: every step's info holds PortfolioEnv's keys and
        ``TimeLimit.truncated``, as a DummyVecEnv's; ``"done"``: only the portfolios whose episode
        ended get ``terminal_observation`` and ``TimeLimit.truncated``, the others an empty dict
        (what training needs, without B dicts of arrays a step), and ``reset_infos`` are empty.
        The step's arrays are in :attr:`last_step` either way.
    :param env_kwargs: every other PortfolioEnv argument (split, splits, profile, config, options).
    """

    def __init__(
        self, n_envs: int, market: MarketData | None = None, *, infos: str = "full", **env_kwargs: Any
    ):
        if n_envs < 1:
            raise ValueError(f"n_envs must be at least 1, got {n_envs}")
        if infos not in INFO_MODES:
            raise ValueError(f"infos must be one of {', '.join(INFO_MODES)}, got {infos!r}")
        self.env = PortfolioEnv(market, **env_kwargs)
        """The one PortfolioEnv whose data, features, checks and spaces every portfolio shares."""
        self.infos = infos
        super().__init__(n_envs, self.env.observation_space, self.env.action_space)
        env, columns = self.env, len(self.env.symbols)
        self._rngs = [seeding.np_random() for _ in range(n_envs)]
        """Each portfolio's (generator, seed): PortfolioEnv's ``np_random`` and ``np_random_seed``."""
        self._t = np.zeros(n_envs, dtype=np.int64)
        self._start = np.zeros(n_envs, dtype=np.int64)
        self._end = np.zeros(n_envs, dtype=np.int64)
        self._value = np.full(n_envs, env.config.initial_value)
        self._states = np.zeros(n_envs, dtype=_STATES)
        self._states[:] = RewardState.start(env.config.initial_value, 0.0)
        """Each portfolio's :class:`~cryptofolio.envs.reward.RewardState` after its last step."""
        self._drifted = np.zeros((n_envs, columns))
        self._drifted[:, 0] = 1.0
        self._actions = np.zeros((n_envs, columns))
        self._parameters = env.parameters.as_record()
        f = env.features
        self._market = (env.market.available, env.anchor, env.relatives, f.returns, f.table, f.listed,
                        f.lags)  # fmt: skip
        self._last: tuple[np.ndarray, ...] = ()

    def set_drawdown_penalty(self, penalty: float) -> None:
        """Charge every portfolio's drawdown term at ``penalty`` from the next step on: a training env's
        Lagrange multiplier; the validation env keeps the configured penalty
        (:meth:`PortfolioEnv.set_drawdown_penalty`)."""
        self.env.set_drawdown_penalty(penalty)
        self._parameters = self.env.parameters.as_record()

    @property
    def last_step(self) -> dict[str, np.ndarray]:
        """Arrays of the last step, one row per portfolio: ``bar`` (where it ended), ``weights``,
        ``drifted_weights`` (before trading), ``portfolio_value``, ``turnover``, ``fees``,
        ``drawdown``, the reward and its components, and ``terminated``, ``truncated``, ``dones``.

        A finished episode's row holds its last step, as its info does, not the next episode's start."""
        if not self._last:
            return {}
        bars, targets, drifted, stats, states, flags = self._last
        named = {key: stats[name] for name, key in _STAT_KEYS.items()}
        named |= {name: states[name] for name in RewardState._fields} | dict(zip(_FLAGS, flags, strict=True))
        return {"bar": bars, "weights": targets, "drifted_weights": drifted, **named}

    # --- stable-baselines3 VecEnv -------------------------------------------------------------------

    def reset(self) -> np.ndarray:
        for i in range(self.num_envs):
            if self._seeds[i] is not None:
                self._rngs[i] = seeding.np_random(self._seeds[i])
            self.reset_infos[i] = self._reset_one(i, self._options[i])
        self._reset_seeds()
        self._reset_options()
        return self.env.features.observations(self._t, self._drifted, np.zeros(self.num_envs))

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        n, columns = self._drifted.shape
        actions = self._actions
        if actions.shape != (n, columns):
            raise ValueError(
                f"actions have shape {actions.shape}, expected {(n, columns)} (one row per portfolio)"
            )
        if actions.dtype not in (np.float32, np.float64):
            if actions.dtype.kind not in "fiu":
                raise ValueError(f"actions have entries of type {actions.dtype}, expected real numbers")
            actions = actions.astype(np.float64)
        targets, drifted = np.empty((2, n, columns))
        stats, states = np.empty(n, dtype=_STATS), np.empty(n, dtype=_STATES)
        flags = np.empty((len(_FLAGS), n), dtype=np.bool_)
        observations = np.empty((n, self.env.features.size), dtype=np.float32)
        state = (self._t, self._start, self._end, self._value, self._drifted, self._states, self._parameters)
        outputs = (targets, drifted, stats, states, flags, observations)
        bad = _step_portfolios(actions, *self._market, *state, *outputs)
        if bad >= 0:
            entries = np.flatnonzero(~np.isfinite(actions[bad])).tolist()
            raise ValueError(f"action of portfolio {bad} has non-finite entries at positions {entries}")
        bars = self._t + 1
        self._last = (bars, targets, self._drifted, stats, states, flags)
        # The state goes on in copies, which the resets below overwrite: the step's arrays stay as they ended.
        self._t, self._drifted = bars.copy(), drifted
        self._value, self._states = stats["portfolio_value"].copy(), states.copy()
        rewards, dones, truncated = stats["reward"].astype(np.float32), flags[2].copy(), flags[1]
        infos = self._step_infos() if self.infos == "full" else [{} for _ in range(n)]
        for i in dones.nonzero()[0].tolist():
            infos[i]["TimeLimit.truncated"] = bool(truncated[i])
            infos[i]["terminal_observation"] = observations[i].copy()
            self.reset_infos[i] = self._reset_one(i, {})
            observations[i] = self.env.features.observation(int(self._t[i]), self._drifted[i], 0.0)
        return observations, rewards, dones, infos

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Each portfolio's ``attr_name``, as a DummyVecEnv of PortfolioEnvs answers it.

        :raises AttributeError: naming an attribute of one episode's state this env keeps no
            PortfolioEnv for (private names, :data:`REFUSED`), or one PortfolioEnv lacks.
        :raises IndexError: for an index outside ``-B..B-1``.
        """
        chosen = self._indices(indices)
        if attr_name in PER_PORTFOLIO:
            return [self._portfolio_attr(attr_name, i) for i in chosen]
        if attr_name.startswith("_") or attr_name in REFUSED:
            raise AttributeError(
                f"BatchedPortfolioEnv has no PortfolioEnv per portfolio to read {attr_name!r} from: "
                f"per portfolio it answers {', '.join(PER_PORTFOLIO)}, and env_method {', '.join(METHODS)}"
            )
        return [getattr(self.env, attr_name) for _ in chosen]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Refused: the portfolios share one PortfolioEnv's settings and keep their state in arrays.

        :raises AttributeError: always, naming ``attr_name``.
        """
        raise AttributeError(
            f"BatchedPortfolioEnv cannot set {attr_name!r}: its portfolios share one PortfolioEnv's settings "
            "and keep their state in arrays; make a new BatchedPortfolioEnv (or pass reset options with "
            "set_options)"
        )

    def env_method(
        self, method_name: str, *args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        """Call a method of :data:`METHODS` for each portfolio, as a DummyVecEnv of PortfolioEnvs does.

        :raises AttributeError: naming any other method.
        :raises IndexError: for an index outside ``-B..B-1``.
        """
        chosen = self._indices(indices)
        if method_name == "market_view":
            return [self._market_view(i, *args, **kwargs) for i in chosen]
        if method_name in METHODS:
            return [getattr(self.env, method_name)(*args, **kwargs) for _ in chosen]
        raise AttributeError(
            f"BatchedPortfolioEnv cannot call {method_name!r} per portfolio (it steps them in one kernel); "
            f"it calls {', '.join(METHODS)}"
        )

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    # --- portfolios ---------------------------------------------------------------------------------

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        """Portfolio indices as a DummyVecEnv reads them (negative ones from the end), checked."""
        n = self.num_envs
        if indices is None:
            return list(range(n))
        chosen = [indices] if isinstance(indices, int | np.integer) else list(indices)
        for i in chosen:
            if not -n <= i < n:
                raise IndexError(f"portfolio index {i} is out of range for {n} portfolios")
        return [int(i) % n for i in chosen]

    def _portfolio_attr(self, name: str, i: int) -> Any:
        """Portfolio ``i``'s value of the PortfolioEnv attribute ``name`` (one of :data:`PER_PORTFOLIO`)."""
        if name == "bar":
            return int(self._t[i])
        if name == "episode_steps":
            return int(self._t[i] - self._start[i])
        if name == "drifted_weights":
            return self._drifted[i].copy()
        return self._rngs[i][0] if name == "np_random" else self._rngs[i][1]

    def _market_view(self, i: int) -> MarketView:
        """PortfolioEnv.market_view of portfolio ``i``: the market up to its current bar."""
        return self.env.market.view(int(self._t[i]))

    def _reset_one(self, i: int, options: dict[str, Any]) -> dict[str, Any]:
        """Start a new episode for portfolio ``i``, exactly as PortfolioEnv.reset does."""
        start, end = self.env.episode_bounds(self._rngs[i][0], options)
        self._t[i] = self._start[i] = start
        self._end[i] = end
        self._value[i] = self.env.config.initial_value
        self._states[i] = RewardState.start(self._value[i], 0.0)
        self._drifted[i] = 0.0
        self._drifted[i, 0] = 1.0
        if self.infos != "full":
            return {}
        cash = self._drifted[i]
        value = self.env.config.initial_value
        return step_info(
            self.env.dates[start], start, value, cash.copy(), cash.copy(), 0.0, 0.0, 0.0, NO_TERMS
        )

    def _step_infos(self) -> list[dict[str, Any]]:
        """Each portfolio's info of the last step: PortfolioEnv's keys and ``TimeLimit.truncated``."""
        bars, targets, drifted, stats, states, flags = self._last
        return [
            step_info(
                self.env.dates[bars[i]],
                int(bars[i]),
                float(stats["portfolio_value"][i]),
                targets[i].copy(),
                drifted[i].copy(),
                float(stats["turnover"][i]),
                float(stats["fees"][i]),
                float(states["drawdown"][i]),
                RewardTerms(**{name: float(stats[name][i]) for name in RewardTerms._fields}),
            )
            | {"TimeLimit.truncated": bool(flags[1, i])}
            for i in range(self.num_envs)
        ]
