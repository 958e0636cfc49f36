"""Hedge: an online allocator over a library of rules (experts), traded once through the ledger.

Each expert (a rule: by default the profile, its regime variant, its risk-overlay rules, equal
weight, inverse volatility, ERC and cash) runs in its own sub-account from the market's first bar,
all cash, through the ledger at ``fee``: its value ``V_k(t)`` before trading at bar t is its
net-of-fee wealth, its weights after trading ``w_k(t)`` its decision. Hedge's target at bar t is

    pi_k(t) = exp(eta * L_k(t)) / sum_j exp(eta * L_j(t)),     target(t) = sum_k pi_k(t) w_k(t)

with ``L_k(t) = log V_k(t)`` (with ``halflife_days``: the log growth discounted by half over that
many days, to follow a change of leader faster). The mixture is one portfolio: it trades from its
own drifted weights to ``target(t)`` once, through the same ledger as every policy, so the experts'
opposite trades net out instead of paying fees twice.

The regret bound relied on (exponentially weighted average forecaster with log loss, which is
exp-concave: Cesa-Bianchi and Lugosi 2006, ch. 3.3 and 10; Cover's universal portfolios for the
case ``eta = 1``). For ``eta <= 1`` and no discounting, if the mixture's growth in a bar is the
``pi``-weighted mean of the experts' net growths ``g_k``, the potential ``Phi_t = sum_k V_k(t)^eta / K``
satisfies ``Phi_{t+1} / Phi_t = sum_k pi_k g_k^eta <= (sum_k pi_k g_k)^eta`` (Jensen: ``x^eta`` is
concave), so over T bars

    log W_hedge(T) >= max_k log V_k(T) - ln(K) / eta.

Its premise holds exactly without fees (the mixture's gross growth is linear in its weights). With
fees it holds for ``eta = 1``, where the mixture is the sum of the experts' sub-accounts held
together, and netting their trades can only lower the fees (the ledger's cost is proportional to
the value traded); for ``eta < 1`` the reweighting between experts also trades, at most ``fee`` times
the reweighted share a bar, which the bound does not count. ``tests/agents/test_hedge.py`` checks the
bound on markets where one expert dominates. The bound is against the best expert in hindsight over
the whole run: on a test window that starts after years of history, the experts' wealth from the
market's first bar weighs in (discounting forgets it).

``choose_eta=true`` chooses the learning rate online: at each bar, among :data:`ETAS`, the one whose
mixture (its own sub-account, through the ledger) grew most over the last ``select_days`` days
(a validation window that ends at the bar; the first candidate until one is that long). Every
quantity at bar t reads the market up to t only: the sub-accounts are stepped bar by bar as views
arrive (computed once per market and kept while later views extend the same prices). The experts'
sub-accounts are shared by every Hedge rule of a process with the same experts and fee
(:func:`experts_on`): a study's folds and a run's validation read one computation per market.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from cryptofolio.agents.base import Rule
from cryptofolio.envs import PROFILE_NAMES, MarketView
from cryptofolio.envs.errors import ConfigError
from cryptofolio.envs.ledger import ledger_step, price_relatives

ETAS = (0.25, 0.5, 1.0, 2.0, 4.0)
"""The learning rates ``choose_eta`` chooses among."""


def expert_library(profile: str) -> list[str]:
    """The default experts of ``profile``: its rule, regime variant and overlay rules, and the classic
    allocations (equal weight, inverse volatility, ERC) and cash."""
    overlays = ("+voltarget", "+ddbrake", "+voltarget+ddbrake")
    return [
        profile,
        f"{profile}_regime",
        *(profile + o for o in overlays),
        "equal_weight",
        "inverse_volatility",
        "risk_parity",
        "cash",
    ]


class Experts:
    """The experts' sub-accounts on one market, from all cash at its first bar, stepped as views extend it.

    :param rules: the experts; :param fee: the sub-accounts' cost rate.
    """

    def __init__(self, rules: list[Rule], fee: float) -> None:
        self.rules, self.fee = rules, fee
        self.seen: MarketView | None = None
        """The latest view stepped to (its prices are the ones these accounts hold)."""
        self.n = 0
        """Bars stepped."""
        self.values = np.empty((0, len(rules)))
        """(n, K) each sub-account's value before trading at each bar."""
        self.kept = np.empty((0, len(rules)))
        """(n, K) each sub-account's value after its trade at each bar (its fees need no later price)."""
        self.after = np.empty((0, len(rules), 0))
        """(n, K, N+1) each expert's weights after trading at each bar."""
        self.relatives = np.empty((0, 0))
        """(n, N+1) price relatives into each bar (row 0 unused)."""
        self._drifted = np.empty((len(rules), 0))

    def matches(self, view: MarketView) -> bool:
        """Whether the view's prices agree with the ones stepped, on the bars both hold."""
        seen = self.seen
        if seen is None or seen.symbols != view.symbols:
            return False
        m = min(self.n, len(view.timestamps))
        return seen.timestamps[:m].equals(view.timestamps[:m]) and np.array_equal(
            seen.close[:m], view.close[:m], equal_nan=True
        )

    def extend(self, view: MarketView) -> None:
        """Step every sub-account to the view's bar (the view must match, :meth:`matches`)."""
        if view.t < self.n:
            return
        n_columns = len(view.symbols)
        if len(self.values) <= view.t:
            size = max(view.t + 1, 2 * len(self.values))
            self.values, self.kept, self.relatives = (
                _grown(a, size) for a in (self.values, self.kept, self.relatives)
            )
            self.after = _grown(self.after, size)
        if self.n == 0:
            self.after = np.zeros((len(self.values), len(self.rules), n_columns))
            self.relatives = np.ones((len(self.values), n_columns))
            self._drifted = np.zeros((len(self.rules), n_columns))
            self._drifted[:, 0] = 1.0
        self.seen = view
        hold = np.ones(n_columns)
        for s in range(self.n, view.t + 1):
            prefix = _prefix(view, s)
            if s == 0:
                self.values[0] = 1.0
            else:
                self.relatives[s] = price_relatives(view.close[s - 1 : s + 1], view.available[s - 1 : s + 1])[
                    0
                ]
                for k in range(len(self.rules)):
                    _, _, self.values[s, k], self._drifted[k] = ledger_step(
                        self.values[s - 1, k],
                        self._drifted[k],
                        self.after[s - 1, k],
                        self.relatives[s],
                        self.fee,
                    )
            for k, expert in enumerate(self.rules):
                self.after[s, k] = expert.target_weights(prefix, self._drifted[k], first=s == 0)
                fees, _, _, _ = ledger_step(
                    self.values[s, k], self._drifted[k], self.after[s, k], hold, self.fee
                )
                self.kept[s, k] = self.values[s, k] - fees
        self.n = view.t + 1


_EXPERTS: OrderedDict[tuple[tuple[str, ...], float], list[Experts]] = OrderedDict()
_MARKETS_KEPT = 4
"""Markets whose sub-accounts a process keeps per expert library (a study unit reads three)."""


def experts_on(specs: tuple[str, ...], fee: float, view: MarketView) -> Experts:
    """The sub-accounts of the experts ``specs`` at ``fee`` on the view's market: shared, computed once
    per market in a process (the latest few markets are kept)."""
    from cryptofolio.agents.baselines import make_baseline  # baselines names the Hedge rule

    kept = _EXPERTS.setdefault((specs, fee), [])
    for experts in kept:
        if experts.matches(view):
            kept.remove(experts)
            kept.insert(0, experts)
            return experts
    experts = Experts([make_baseline(spec) for spec in specs], fee)
    kept.insert(0, experts)
    del kept[_MARKETS_KEPT:]
    return experts


@dataclass(eq=False)
class Hedge(Rule):
    """Exponentially weighted experts over a rule library (see the module docstring).

    :param profile: the risk profile whose library is used (and whose budget reports read).
    :param eta: learning rate (> 0).
    :param choose_eta: choose the learning rate at each bar among :data:`ETAS` on the last ``select_days``
        (``eta`` unused).
    :param halflife_days: discount of the experts' log growth (None: none, the bound above holds).
    :param select_days: the window ``choose_eta`` chooses on, in days.
    :param fee: cost rate of the sub-accounts (the ledger's ``fee + slippage``).
    :param experts: rule specs (default :func:`expert_library`).
    """

    profile: str = "moderate"
    eta: float = 1.0
    choose_eta: bool = False
    halflife_days: float | None = None
    select_days: float = 182.0
    fee: float = 0.001
    experts: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILE_NAMES:
            raise ConfigError(f"profile must be one of {', '.join(PROFILE_NAMES)}, got {self.profile!r}")
        if not 0 < self.eta < math.inf:
            raise ConfigError(f"eta must be a positive number, got {self.eta!r}")
        if self.halflife_days is not None and not self.halflife_days > 0:
            raise ConfigError(f"halflife_days must be positive (or omitted), got {self.halflife_days!r}")
        if not (self.select_days > 0 and 0 <= self.fee < 1):
            raise ConfigError(
                f"select_days must be positive and fee in [0, 1), got {self.select_days}, {self.fee}"
            )
        self.etas = ETAS if self.choose_eta else (float(self.eta),)
        """The learning rates the rule runs a mixture of (one unless ``choose_eta``)."""
        self.specs = tuple(self.experts or expert_library(self.profile))
        """The experts' specs."""
        self.name = f"{self.profile}_hedge"
        self._on: Experts | None = None
        self._n = 0

    @property
    def rules(self) -> list[Rule]:
        """The experts, as rules (of the sub-accounts last read)."""
        from cryptofolio.agents.baselines import make_baseline

        return self._on.rules if self._on is not None else [make_baseline(spec) for spec in self.specs]

    # --- the rule -------------------------------------------------------------------------------------

    def target_weights(self, view: MarketView, weights: np.ndarray, first: bool) -> np.ndarray:
        return self.target(view)

    def target(self, view: MarketView) -> np.ndarray:
        """(N+1,) the mixture at the view's bar (of the learning rate chosen there, with ``choose_eta``)."""
        self._extend(view)
        t = view.t
        return self._mixture[t, self._chosen[t]].copy()

    def weights_of_experts(self, view: MarketView) -> np.ndarray:
        """(K,) ``pi(t)`` at the view's bar, of the learning rate chosen there."""
        self._extend(view)
        return self._pi[view.t, self._chosen[view.t]].copy()

    def chosen_eta(self, view: MarketView) -> float:
        """The learning rate the mixture at the view's bar uses."""
        self._extend(view)
        return self.etas[self._chosen[view.t]]

    def expert_values(self, view: MarketView) -> np.ndarray:
        """(t+1, K) each expert's sub-account value before trading, from 1.0 at the market's first bar."""
        self._extend(view)
        assert self._on is not None
        return self._on.values[: view.t + 1].copy()

    def mixture_values(self, view: MarketView) -> np.ndarray:
        """(t+1, G) the mixture of each learning rate traded in its own sub-account, from 1.0 at the
        market's first bar (what a backtest of this rule from that bar holds, for one learning rate)."""
        self._extend(view)
        return self._mixture_values[: view.t + 1].copy()

    # --- the mixtures ------------------------------------------------------------------------------------

    def _extend(self, view: MarketView) -> None:
        """The experts' sub-accounts, then this rule's mixtures, up to the view's bar."""
        experts = experts_on(self.specs, self.fee, view)
        experts.extend(view)
        if experts is not self._on:
            self._on, self._n = experts, 0
        if view.t < self._n:
            return
        size, k, g, n = len(experts.values), len(self.specs), len(self.etas), len(view.symbols)
        if self._n == 0:
            self._scores, self._pi = np.zeros((size, k)), np.zeros((size, g, k))
            self._mixture, self._mixture_drifted = np.zeros((size, g, n)), np.zeros((size, g, n))
            self._mixture_values, self._chosen = np.zeros((size, g)), np.zeros(size, dtype=np.int64)
        elif len(self._scores) < size:
            for name in ("_scores", "_pi", "_mixture", "_mixture_drifted", "_mixture_values", "_chosen"):
                setattr(self, name, _grown(getattr(self, name), size))
        decay = self._decay(view)
        for s in range(self._n, view.t + 1):
            self._step(experts, s, decay, view)
        self._n = view.t + 1

    def _step(self, experts: Experts, s: int, decay: float, view: MarketView) -> None:
        """Bar s: each mixture held from s-1 to s, then its weights over the experts and target at s."""
        if s == 0:
            self._scores[0] = np.log(experts.kept[0])
            self._mixture_values[0] = 1.0
            self._mixture_drifted[0, :, 0] = 1.0
        else:
            self._scores[s] = decay * self._scores[s - 1] + np.log(experts.kept[s] / experts.kept[s - 1])
            for g in range(len(self.etas)):
                _, _, value, drifted = ledger_step(
                    self._mixture_values[s - 1, g],
                    self._mixture_drifted[s - 1, g],
                    self._mixture[s - 1, g],
                    experts.relatives[s],
                    self.fee,
                )
                self._mixture_values[s, g], self._mixture_drifted[s, g] = value, drifted
        for g, eta in enumerate(self.etas):
            logits = eta * self._scores[s]
            pi = np.exp(logits - logits.max())
            self._pi[s, g] = pi / pi.sum()
            self._mixture[s, g] = self._pi[s, g] @ experts.after[s]
        self._chosen[s] = self._choose(s, view)

    def _decay(self, view: MarketView) -> float:
        if self.halflife_days is None:
            return 1.0
        return float(0.5 ** (1.0 / view.bars(self.halflife_days)))

    def _choose(self, s: int, view: MarketView) -> int:
        """The candidate whose mixture grew most over the last ``select_days`` (0 before that)."""
        window = view.bars(self.select_days)
        if len(self.etas) == 1 or s < window:
            return 0
        growth = np.log(self._mixture_values[s] / self._mixture_values[s - window])
        return int(np.argmax(growth))


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    """``array`` with zero rows appended up to ``size`` rows."""
    out = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out


def _prefix(view: MarketView, s: int) -> MarketView:
    """The view of bar ``s`` (<= view.t): the same market up to ``s``."""
    if s == view.t:
        return view
    cut = slice(0, s + 1)
    regimes = None if view.regimes is None else view.regimes[cut]
    return dataclasses.replace(
        view,
        timestamps=view.timestamps[cut],
        close=view.close[cut],
        available=view.available[cut],
        regimes=regimes,
    )
