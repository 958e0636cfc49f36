"""PortfolioEnv: a long-only crypto portfolio (a stablecoin as cash plus N assets) as a Gymnasium env."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, NamedTuple, SupportsFloat

import gymnasium as gym
import numpy as np
import pandas as pd

from cryptofolio.envs.actions import action_size, action_space, check_action, fill_targets
from cryptofolio.envs.config import Costs, EnvConfig
from cryptofolio.envs.errors import ConfigError, DataError
from cryptofolio.envs.features import build_features, fill_observation
from cryptofolio.envs.ledger import price_relatives, trade_and_hold
from cryptofolio.envs.market import MarketData, MarketView
from cryptofolio.envs.profiles import model_portfolios, risk_profile
from cryptofolio.envs.reward import (
    INFO_KEYS,
    NO_TERMS,
    RewardSettings,
    RewardState,
    advance,
    as_record,
)
from cryptofolio.envs.splits import SPLIT_NAMES, Splits, split_by_fractions
from cryptofolio.envs.synthetic import synthetic_market

RESET_OPTIONS = ("start", "to_end")


class StepParameters(NamedTuple):
    """The numbers a step's kernels read, built once from an :class:`EnvConfig` and a profile.

    The scalar env reads them as attributes; the batched env's compiled loop reads the same
    fields by name from :meth:`as_record` (a structured array, which numba unboxes fast).
    """

    cost_rate: float
    """``c = fee + slippage``, paid on each risky asset's traded value."""
    reward: RewardSettings
    """The reward's settings (:mod:`cryptofolio.envs.reward`)."""
    tilt: float
    """Strength of a residual tilt."""
    dial_cap: float
    """0, or the cap of the risk dial (the cash entry of a residual action sets the risky share)."""
    trade_band: float
    """No trade unless some weight moves by at least this (0: always)."""
    decision_every: int
    """Trade only on bars whose index is a multiple of this."""
    ruin_value: float
    """Value below which an episode terminates."""

    def as_record(self) -> np.ndarray:
        """These parameters as a (1,) structured array with one named field each (``record[0].tilt``,
        ``record[0].reward.drawdown_penalty``)."""
        return as_record(self)


def step_parameters(config: EnvConfig, profile: str) -> StepParameters:
    """The kernels' parameters for ``config`` and the risk ``profile`` (which sets the default tolerance)."""
    actions = config.actions
    return StepParameters(
        cost_rate=float(config.costs.rate),
        reward=RewardSettings.from_config(config.reward, risk_profile(profile).max_drawdown),
        tilt=float(actions.tilt),
        dial_cap=float(actions.risk_cap) if actions.risk_dial else 0.0,
        trade_band=float(actions.trade_band),
        decision_every=int(actions.decision_every),
        ruin_value=float(config.ruin_fraction * config.initial_value),
    )


def step_info(
    date: np.datetime64,
    bar: int,
    value: float,
    weights: np.ndarray,
    drifted: np.ndarray,
    turnover: float,
    fees: float,
    drawdown: float,
    terms: tuple[float, ...],
) -> dict[str, Any]:
    """The ``info`` of a step (or of a reset, with zero flows and :data:`~cryptofolio.envs.reward.NO_TERMS`):
    the keys of PortfolioEnv's Info table.

    :param terms: a :class:`~cryptofolio.envs.reward.RewardTerms`, or its values in the order of its
        fields (as :func:`~cryptofolio.envs.reward.advance` returns them), each as ``reward_<term>``.
    """
    info = {
        "date": date,
        "bar": bar,
        "portfolio_value": value,
        "weights": weights,
        "drifted_weights": drifted,
        "turnover": turnover,
        "fees": fees,
        "drawdown": drawdown,
    }
    for key, term in zip(INFO_KEYS, terms, strict=True):  # (faster than update for a handful)
        info[key] = term
    return info


class PortfolioEnv(gym.Env[np.ndarray, np.ndarray]):
    """Rebalance a portfolio of a stablecoin (cash) and N crypto assets, paying fees.

    Registered as ``CryptoPortfolio-v0``; ``gymnasium.make("CryptoPortfolio-v0")`` runs on
    the default synthetic market. Bars are daily or hourly closes; one step is one bar.

    **Action space** ``Box(-1, 1, (N+1,), float32)``, cash first. Target weights are
    ``w = (a + 1) / sum(a + 1)`` (all cash if every ``a_i = -1``), with the weight of
    assets not yet listed moved to cash (:mod:`cryptofolio.envs.actions`). Every point of the simplex
    is reachable, including 100% cash and 100% in one asset. Out-of-range values are
    clipped; NaN or infinite values raise ``ValueError``. With ``residual=True`` the action
    instead tilts the profile's model portfolio ``m``: ``w ~ m * exp(tilt * a)``, so the zero
    action holds the model portfolio; with ``risk_dial=True`` too, the cash entry instead scales the
    model portfolio's risky share by ``min(1 + a_0, risk_cap)`` (``a_0 = -1``: all cash), the risky
    entries tilting it as before. With ``trade_band > 0``, a target that moves no weight
    by the band or more is not traded (the drifted weights are kept, at no cost).

    **Observation space**: a finite float32 ``Box`` built only from data up to and
    including the current bar (:mod:`cryptofolio.envs.features`):

    ==============  ==========  ===========  ==============================================
    slice           length      range        content
    ==============  ==========  ===========  ==============================================
    returns         W * (N+1)   [-5, 5]      log returns of the last W bars, oldest first
    volatility      N+1         [0, 10]      annualized volatility over the window
    (``summary``)   5 * (N+1)                instead of the two above: momentum over 7, 30 and
                                             90 bars, 30-bar volatility, its log ratio to the
                                             365-bar volatility
    weights         N+1         [0, 1]       current (drifted) weights, before trading
    listed          N           {0, 1}       whether each risky asset is listed
    drawdown        1           [0, 1]       1 - V_t / peak value of the episode
    ==============  ==========  ===========  ==============================================

    **Dynamics** (:mod:`cryptofolio.envs.ledger`): at bar t the portfolio, worth ``V_t``, trades at the
    close to the target weights, paying ``fee + slippage`` on each risky asset's traded
    value, then holds to bar t+1. The portfolio starts fully in cash.

    **Reward**::

        r_t = log(V_{t+1} / V_t)                                   (net of fees)
              - drawdown_penalty * max(0, DD_{t+1} - drawdown_tolerance)     ("excess")
              - turnover_penalty * turnover_t
              - action_penalty * mean_i clip(a_i, -1, 1)^2           (on bars that decide)
              - ...                                 (each further term of :mod:`cryptofolio.envs.reward`)

    with ``DD_{t+1} = 1 - V_{t+1} / max_{s <= t+1} V_s`` over the episode. The tolerance
    defaults to the risk profile's maximum drawdown (conservative 20%, moderate 35%,
    aggressive 50%). With ``drawdown_mode="increase"`` the drawdown term is instead
    ``drawdown_penalty * max(0, DD_{t+1} - DD_t) / drawdown_tolerance``: every deepening of the
    drawdown costs, scaled to the profile's tolerance, not only drawdown beyond it. With
    ``objective="differential_sharpe"`` the first term is instead Moody and Saffell's
    differential Sharpe ratio of ``log(V_{t+1} / V_t)`` over moving moments of weight
    ``sharpe_decay``, restarted each episode (:mod:`cryptofolio.envs.reward`).

    **Episodes** start at a random bar of the split (from ``self.np_random``) and last
    ``episode_length`` steps; ``truncated`` is set when that length or the split's data runs
    out, ``terminated`` only on ruin (value below ``ruin_fraction`` of the initial value).
    ``reset(options={"start": bar_or_time})`` fixes the first bar; ``{"to_end": True}``
    runs to the end of the split, so evaluation can run a whole split deterministically.
    An episode earns only the returns of its split's bars: the earliest first trade is at
    the close of the bar just before the split (the last price known when it begins), so
    consecutive splits share no return and lose none. Observations look back ``window``
    bars, possibly into the previous split: that is the past, not a leak.

    **Info** at every step (and at reset, for the starting bar):

    ==============================  ===============================================================
    key                             value
    ==============================  ===============================================================
    ``date``                        ``numpy.datetime64`` (UTC) of bar t+1, where the step ends
    ``bar``                         index of bar t+1 in the market
    ``portfolio_value``             ``V_{t+1}``, quote currency
    ``weights``                     (N+1,) target weights held after trading at bar t
    ``drifted_weights``             (N+1,) weights before trading at bar t
    ``turnover``                    risky value bought plus sold at bar t, as a fraction of ``V_t``
    ``fees``                        fees and slippage paid at bar t, quote currency
    ``drawdown``                    ``DD_{t+1}``
    ``reward_<term>``               each term of the reward, one per field of
                                    :class:`~cryptofolio.envs.reward.RewardTerms`:
                                    ``reward_log_growth`` (``log(V_{t+1} / V_t)``),
                                    ``reward_differential_sharpe`` (0 unless it is the objective),
                                    and each penalty subtracted from the reward
                                    (``reward_drawdown_penalty``, ``reward_turnover_penalty``, ...)
    ==============================  ===============================================================

    **Arguments** (all keyword-only but ``market``):

    :param market: prices; default ``synthetic_market(seed=0)``.
    :param split: ``train``, ``validation`` or ``test``.
    :param splits: bar ranges of the splits; default 70/15/15% of the bars in time order.
    :param profile: risk profile: the default drawdown tolerance, and the anchor of residual actions.
    :param render_mode: None, or ``rgb_array`` for :meth:`render`'s picture of the weights.
    :param config: costs, reward, action mapping, observation and episode
        (:class:`~cryptofolio.envs.config.EnvConfig`, every default documented there).
    :param anchor: (T, N+1) weights per bar of the rule ``config.actions.anchor`` names (the env knows
        no policy: :func:`cryptofolio.agents.anchors.anchored_env` computes them).
    :param options: fields of ``config``'s sections by name, as ``gym.make`` passes them
        (``fee=0.002, window=60, residual=True``): :meth:`EnvConfig.with_options`.

    **Version history**: v0, first version. Options added since (the observation's ``features``,
    ``residual``, ``tilt``, ``risk_dial``, ``risk_cap``, ``trade_band``, ``decision_every``,
    ``action_penalty``, ``drawdown_mode``, ``objective``, ``sharpe_decay``) default to the v0
    behaviour; ``info`` gained ``reward_action_penalty`` and ``reward_differential_sharpe``; the
    action penalty is no longer charged on bars whose action ``decision_every`` ignores. The
    options are grouped in ``config`` (:class:`~cryptofolio.envs.config.EnvConfig`); the option
    ``observation`` is now ``features``.
    Observations, rewards and costs are unchanged. Markets may now hold delisted assets: a position
    held past an asset's last price is worth its last close less ``delisting_haircut`` (a new cost,
    default 0) and is sold at the next decision, even inside a trade band.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012 (gymnasium's)

    def __init__(
        self,
        market: MarketData | None = None,
        *,
        split: str = "train",
        splits: Splits | None = None,
        profile: str = "moderate",
        config: EnvConfig | None = None,
        anchor: np.ndarray | None = None,
        render_mode: str | None = None,
        **options: Any,
    ) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be None or rgb_array, got {render_mode!r}")
        self.render_mode = render_mode
        for name, value, kind in (
            ("market", market, MarketData),
            ("splits", splits, Splits),
            ("config", config, EnvConfig),
        ):
            if value is not None and not isinstance(value, kind):
                raise ValueError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
        self.market = synthetic_market(seed=0) if market is None else market
        self.splits = split_by_fractions(self.market) if splits is None else splits
        if split not in SPLIT_NAMES:
            raise ConfigError(f"split must be one of {', '.join(SPLIT_NAMES)}, got {split!r}")
        self.split = split
        self.split_bars = self.splits[split]
        if len(self.split_bars) < 2:
            raise DataError(f"the {split} split holds {len(self.split_bars)} bars; give its dates")
        self.config = (config or EnvConfig()).with_options(**options)
        """Costs, reward, action mapping, observation and episode of this env."""
        self.profile = risk_profile(profile).name
        self.parameters = step_parameters(self.config, self.profile)
        """The numbers the step's kernels read."""

        window = self.config.observation.window
        self.features = build_features(self.market, window, self.config.observation.features)
        self._first_start = max(self.split_bars.start - 1, window)
        self._last_bar = self.split_bars.stop - 1
        if self._first_start >= self._last_bar:
            raise DataError(
                f"split {split!r} (bars {self.split_bars.start}..{self._last_bar}) leaves no step after a "
                f"window of {window} bars; use a longer split or a shorter window"
            )
        self.relatives = _price_relatives(self.market, self.config.costs)
        """(T, N+1) price relatives ``p_{t+1} / p_t`` in row t, cash yield included."""
        self.dates = self.market.timestamps.tz_convert(None).to_numpy()
        """(T,) bar times as ``numpy.datetime64`` (UTC)."""

        n_columns = self.market.n_assets + 1
        self.anchor = self._anchor(anchor)
        """(T, N+1) the residual anchor per bar: the profile's model portfolio, or the weights of the rule
        ``config.actions.anchor`` names; (0, N+1) without residual actions."""
        self.action_space = action_space(n_columns)
        self.observation_space = self.features.observation_space()
        self._cash_only = np.zeros(n_columns)
        self._cash_only[0] = 1.0
        self._t = self._end = self._start = self._first_start
        self._value = self.config.initial_value
        self._reward_settings = as_record(self.parameters.reward)
        self._state = as_record(RewardState.start(self._value, 0.0))
        """The reward's state after the last step, a (1,) record of :class:`RewardState`."""
        self._drifted = self._cash_only.reshape(1, -1).copy()

    def _anchor(self, anchor: np.ndarray | None) -> np.ndarray:
        actions, market = self.config.actions, self.market
        if not actions.residual:
            return np.empty((0, market.n_assets + 1))
        if actions.anchor is None:
            return model_portfolios(self.profile, market)
        if anchor is None:
            raise ConfigError(
                f"anchor {actions.anchor!r} is a rule: build the env with its weights "
                "(cryptofolio.agents.anchors.anchored_env)"
            )
        anchor = np.asarray(anchor, dtype=np.float64)
        if anchor.shape != market.close.shape:
            raise ValueError(f"anchor has shape {anchor.shape}, expected {market.close.shape} (bars, assets)")
        unlisted = np.where(market.available, 0.0, anchor)
        if not (np.isfinite(anchor).all() and (anchor >= 0).all() and not unlisted.any()):
            raise ValueError(
                "anchor weights must be finite, non-negative and zero where an asset is not listed"
            )
        if np.abs(anchor.sum(axis=1) - 1.0).max() > 1e-9:
            raise ValueError("anchor weights must sum to 1 at every bar")
        return anchor

    def set_drawdown_penalty(self, penalty: float) -> None:
        """Charge the drawdown term at ``penalty`` from the next step on, in the kernel and in
        :attr:`parameters` (which the gradient agent's twin reads): a training env's Lagrange multiplier
        (``RewardConfig.budget_rate``). Training envs only: the validation env keeps the configured
        penalty, so selection scores stay comparable; ``config`` keeps it too.

        :raises ValueError: for a negative or non-finite ``penalty``.
        """
        if not (math.isfinite(penalty) and penalty >= 0.0):
            raise ValueError(f"a drawdown penalty must be finite and non-negative, got {penalty!r}")
        reward = self.parameters.reward._replace(drawdown_penalty=float(penalty))
        self.parameters = self.parameters._replace(reward=reward)
        self._reward_settings = as_record(reward)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Asset symbols in action and weight order (cash first)."""
        return self.market.symbols

    @property
    def bar(self) -> int:
        """Index of the current bar, where the next trade happens."""
        return self._t

    @property
    def episode_steps(self) -> int:
        """Steps taken since the last reset."""
        return self._t - self._start

    @property
    def drifted_weights(self) -> np.ndarray:
        """(N+1,) current weights, before trading at the current bar (a copy)."""
        return self._drifted[0].copy()

    def render(self) -> np.ndarray | None:
        """With ``render_mode="rgb_array"``: (64, 8 (N+1), 3) uint8, one bar per asset of the current
        weights (cash grey, the others blue), cash first; else None."""
        if self.render_mode is None:
            return None
        weights = self._drifted[0]
        heights = np.round(weights * 64).astype(int)
        image = np.full((64, 8 * len(weights), 3), 255, dtype=np.uint8)
        for i, height in enumerate(heights):
            colour = (128, 128, 128) if i == 0 else (31, 119, 180)
            image[64 - height :, 8 * i + 1 : 8 * i + 7] = colour
        return image

    def market_view(self) -> MarketView:
        """The market up to and including the current bar, for rules (:meth:`MarketData.view`)."""
        return self.market.view(self._t)

    @property
    def first_start(self) -> int:
        """Earliest bar an episode can start at: the bar before the split (or the ``window``-th bar)."""
        return self._first_start

    @property
    def last_start(self) -> int:
        """Latest bar an episode can start at (one step before the split's last bar)."""
        return self._last_bar - 1

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        start, self._end = self.episode_bounds(self.np_random, options or {})
        self._t = self._start = start
        self._value = self.config.initial_value
        self._state[0] = RewardState.start(self._value, 0.0)
        self._drifted = self._cash_only.reshape(1, -1).copy()
        cash = self._cash_only
        info = step_info(
            self.dates[start], start, self._value, cash.copy(), cash.copy(), 0.0, 0.0, 0.0, NO_TERMS
        )
        return self._observe(start, 0.0), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        t = self._t
        if t >= self._end:
            raise RuntimeError("the episode is over (terminated or truncated); call reset()")
        targets = self._targets(action, t, self._drifted)
        p = self.parameters
        size = 0.0
        if p.reward.action_penalty > 0.0 and t % p.decision_every == 0:  # an ignored action costs nothing
            size = action_size(np.asarray(action, dtype=np.float64).reshape(1, -1), 0)
        drifted = np.empty_like(targets)
        fees, turnover, value = trade_and_hold(
            self._value, self._drifted, targets, self.relatives, t, 0, p.cost_rate, drifted
        )
        total, drawdown, terms = advance(
            self._value, value, turnover, size, t - self._start, self._reward_settings, self._state
        )
        info = step_info(
            self.dates[t + 1], t + 1, value, targets[0], self._drifted[0], turnover, fees, drawdown, terms
        )
        self._t, self._value, self._drifted = t + 1, value, drifted
        terminated = value < p.ruin_value
        truncated = not terminated and t + 1 >= self._end
        if terminated:
            self._end = t + 1
        return self._observe(t + 1, drawdown), total, terminated, truncated, info

    def target_weights(self, action: np.ndarray, bar: int, drifted: np.ndarray) -> np.ndarray:
        """(N+1,) the weights ``action`` trades to at ``bar`` from ``drifted`` weights (see Action space).

        :raises ValueError: for an action of the wrong shape or with a NaN or infinite entry.
        """
        return self._targets(action, bar, np.asarray(drifted, dtype=np.float64).reshape(1, -1))[0]

    def _targets(self, action: np.ndarray, bar: int, drifted: np.ndarray) -> np.ndarray:
        """:meth:`target_weights` on (1, N+1) float64 ``drifted``, as (1, N+1): the step's fast path."""
        row = np.asarray(action)
        if row.dtype not in (np.float32, np.float64) or row.shape != drifted.shape[1:]:
            row = check_action(action, drifted.shape[1])  # float64 (N+1,), or an error naming the fault
        row = row.reshape(1, -1)
        out = np.empty(drifted.shape)
        p = self.parameters
        if not fill_targets(
            row,
            0,
            self.market.available,
            self.anchor,
            bar,
            p.tilt,
            p.dial_cap,
            p.trade_band,
            p.decision_every,
            drifted,
            out,
        ):
            check_action(action, len(self.symbols))  # raises, naming what is wrong
        return out

    def _observe(self, t: int, drawdown: float) -> np.ndarray:
        features = self.features
        out = np.empty((1, features.size), dtype=np.float32)
        fill_observation(
            features.returns,
            features.table,
            features.listed,
            features.lags,
            t,
            self._drifted,
            0,
            drawdown,
            out,
        )
        return out[0]

    def episode_bounds(self, rng: np.random.Generator, options: dict[str, Any]) -> tuple[int, int]:
        """First bar and end bar of a new episode: the reset options, else a start drawn from ``rng``."""
        unknown = set(options) - set(RESET_OPTIONS)
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; known: {', '.join(RESET_OPTIONS)}")
        if options.get("start") is not None:
            start = self._start_bar(options["start"])
        else:
            latest = max(self._first_start, self._last_bar - self.config.episode_length)
            start = int(rng.integers(self._first_start, latest + 1))
        length = self.config.episode_length
        end = self._last_bar if options.get("to_end") else min(start + length, self._last_bar)
        return start, end

    def _start_bar(self, start: int | str | pd.Timestamp) -> int:
        if isinstance(start, bool) or not isinstance(start, int | np.integer | str | pd.Timestamp | dt.date):
            raise ValueError(f"start must be a bar number or a date, got {start!r}")
        bar = int(start) if isinstance(start, int | np.integer) else self.market.bar_at(start)
        if not self.first_start <= bar <= self.last_start:
            ts = self.market.timestamps
            raise ValueError(
                f"start {start!r} (bar {bar}) is outside the {self.split} split's possible starts: bars "
                f"{self.first_start}..{self.last_start} ({ts[self.first_start]} to {ts[self.last_start]})"
            )
        return bar


def _price_relatives(market: MarketData, costs: Costs) -> np.ndarray:
    """(T, N+1) :func:`~cryptofolio.envs.ledger.price_relatives` of the market at these costs, read-only."""
    cash_growth = (1.0 + costs.cash_yield) ** (1.0 / market.periods_per_year)
    relatives = price_relatives(market.close, market.available, costs.delisting_haircut, cash_growth)
    relatives.setflags(write=False)
    return relatives
