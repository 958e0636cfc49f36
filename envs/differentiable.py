"""A differentiable torch twin of the ledger, the reward and the action mapping.

The numba kernels (:mod:`cryptofolio.envs.ledger`, :mod:`cryptofolio.envs.reward`,
:mod:`cryptofolio.envs.actions`) stay the ones every env steps with; this module computes the same
numbers with torch operations, so that a policy can be trained by backpropagating the reward of a
rollout through fees, drift, drawdown and the action mapping. It mirrors the kernels' conventions one
by one: the same Newton solve for ``mu`` (exact, not a first-order fee), fees and turnover on
the risky assets only, drift from the target weights, the clip of actions to [-1, 1], unlisted
weight moved to cash, the trade band and decisions every k bars. ``tests/envs/test_differentiable.py``
checks that both agree to 1e-12 in float64, step by step and over whole env episodes, and that
the gradients pass ``torch.autograd.gradcheck``.

Every function is batched over B portfolios: weights are (B, N+1) tensors, cash first, and per
portfolio numbers are (B,) tensors. Results have the device and dtype of the inputs; use float64
where the numbers must match the kernels. Importing this module imports torch, so
``cryptofolio.envs`` does not import it.

Gradients follow the ledger's pieces: ``mu`` by implicit differentiation of its equation
(:class:`RebalanceFactor`), everything else by autograd. Fees, the reward's ``max(0, .)`` and
the clip are piecewise smooth; at a kink (a weight that does not trade, a drawdown exactly at
the tolerance, an action at +-1) the gradient is a subgradient (``|x|`` counts as flat at 0).
The trade band and skipped decisions are steps: a row that does not trade keeps its drifted weights and its
targets get no gradient from that bar.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx

from cryptofolio.envs.reward import VARIANCE_FLOOR, RewardSettings, RewardState, RewardTerms


class RebalanceFactor(torch.autograd.Function):
    """``mu = V'_t / V_t`` (B,) for (B, N+1) ``drifted`` and ``targets``, differentiable in both.

    ``mu`` solves ``F(mu) = mu - 1 + c * sum_{i>=1} |mu w_i - w~_i| = 0``: the forward pass runs
    :func:`cryptofolio.envs.ledger.solve_rebalance`'s Newton iteration on every row at once; the
    backward pass differentiates ``F = 0`` implicitly, ``dmu/dtheta = -(dF/dtheta) / (dF/dmu)``.
    ``cost_rate`` gets no gradient.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, drifted: Tensor, targets: Tensor, cost_rate: float) -> Tensor:
        with torch.no_grad():
            mu = _solve_rebalance(drifted, targets, cost_rate)
        ctx.save_for_backward(drifted, targets, mu)
        ctx.cost_rate = cost_rate  # type: ignore[attr-defined]
        return mu

    @staticmethod
    def backward(ctx: Any, grad_mu: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        drifted, targets, mu = ctx.saved_tensors
        c = ctx.cost_rate
        sign = torch.zeros_like(targets)
        sign[:, 1:] = torch.sign(mu[:, None] * targets[:, 1:] - drifted[:, 1:])  # 0 at a kink
        dmu = 1.0 + c * (sign * targets).sum(dim=1)  # dF/dmu >= 1 - c > 0
        scale = (grad_mu / dmu)[:, None]
        grad_drifted = scale * c * sign if ctx.needs_input_grad[0] else None  # -(dF/dw~) = c s
        grad_targets = -scale * c * sign * mu[:, None] if ctx.needs_input_grad[1] else None  # -(dF/dw)
        return grad_drifted, grad_targets, None


def _solve_rebalance(drifted: Tensor, targets: Tensor, cost_rate: float) -> Tensor:
    """(B,) ``mu`` by :func:`~cryptofolio.envs.ledger.solve_rebalance`'s Newton method, rows masked when done.

    From ``mu = 1`` with the left slope (a weight exactly at its drifted value counts as sold);
    a row stops when ``f(mu) <= 0`` or a step makes no progress; at most N+3 iterations, the
    kernel's ``range(n_columns + 2)``.
    """
    w, drifted_risky = targets[:, 1:], drifted[:, 1:]
    mu = torch.ones(targets.shape[0], dtype=targets.dtype, device=targets.device)
    active = torch.ones(targets.shape[0], dtype=torch.bool, device=targets.device)
    for _ in range(targets.shape[1] + 2):
        gap = mu[:, None] * w - drifted_risky
        f = mu - 1.0 + cost_rate * gap.abs().sum(dim=1)
        slope = 1.0 + cost_rate * torch.where(gap > 0.0, w, -w).sum(dim=1)
        step = mu - f / slope
        active = active & (f > 0.0) & (step < mu)
        if not bool(active.any()):
            break
        mu = torch.where(active, step, mu)
    return mu


def rebalance_factor(drifted: Tensor, targets: Tensor, cost_rate: float) -> Tensor:
    """(B,) ``mu = V'_t / V_t`` in (0, 1] of trading (B, N+1) ``drifted`` to ``targets``, differentiable.

    :param cost_rate: ``c = fee + slippage`` per unit of traded risky value, in [0, 1).
    """
    mu: Tensor = RebalanceFactor.apply(drifted, targets, cost_rate)
    return mu


def trade_and_hold(
    value: Tensor, drifted: Tensor, targets: Tensor, relatives: Tensor, cost_rate: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Trade each portfolio from ``drifted`` to ``targets`` at bar t, hold to bar t+1 (as the numba kernel).

    :param value: (B,) ``V_t``.
    :param drifted: (B, N+1) weights before trading; :param targets: (B, N+1) after trading.
    :param relatives: (B, N+1) each portfolio's ``x_{t+1} = p_{t+1} / p_t`` (cash first).
    :param cost_rate: ``c = fee + slippage``, in [0, 1).
    :return: ``(fees, turnover, next_value, next_drifted)``: (B,) fees paid ``c * turnover * V_t``;
        (B,) turnover, risky value bought plus sold as a fraction of ``V_t``; (B,) ``V_{t+1}``;
        (B, N+1) ``w~_{t+1}``.
    """
    mu = rebalance_factor(drifted, targets, cost_rate)
    turnover = (mu[:, None] * targets[:, 1:] - drifted[:, 1:]).abs().sum(dim=1)
    held = targets * relatives
    growth = held.sum(dim=1)
    next_drifted = held / growth[:, None]
    return cost_rate * turnover * value, turnover, mu * value * growth, next_drifted


def step_reward(
    value: Tensor,
    next_value: Tensor,
    turnover: Tensor,
    action_size: Tensor | float,
    steps: int,
    state: RewardState[Tensor],
    settings: RewardSettings,
) -> tuple[Tensor, RewardTerms[Tensor], RewardState[Tensor]]:
    """Each portfolio's terms of a step and next state, as :func:`cryptofolio.envs.reward.reward`.

    :param value: ``V_t``; :param next_value: ``V_{t+1}``; :param turnover: the step's turnover; all (B,).
    :param action_size: ``mean_i clip(a_i)^2`` on bars that decide, 0 on the others: (B,) or a number.
    :param steps: the episode's steps before this one.
    :param state: the (B,) state after the previous step (``RewardState.start(value, zeros)`` at
        an episode's start); :param settings: the reward's settings (the env's ``parameters.reward``).
    :return: ``(reward, terms, next_state)``, all (B,).
    """
    log_growth = torch.log(next_value / value)
    peak = torch.maximum(state.peak, next_value)
    drawdown = 1.0 - next_value / peak
    s = settings
    if s.increase:
        deepening = torch.clamp(drawdown - (1.0 - value / state.peak), min=0.0)
        drawdown_term = s.drawdown_penalty * deepening / s.drawdown_tolerance
    else:
        drawdown_term = s.drawdown_penalty * torch.clamp(drawdown - s.drawdown_tolerance, min=0.0)
    turnover_term = s.turnover_penalty * turnover
    action_term = s.action_penalty * action_size
    variance_term = s.variance_penalty * log_growth * log_growth
    zeros = torch.zeros_like(log_growth)
    objective, sharpe, mean, second = log_growth, zeros, zeros, zeros
    if s.sharpe_decay > 0.0:
        sharpe, mean, second = differential_sharpe(
            log_growth, state.sharpe_mean, state.sharpe_second, steps, s.sharpe_decay
        )
        objective = sharpe
    total = objective - drawdown_term - turnover_term - action_term - variance_term
    terms = RewardTerms(
        log_growth=log_growth,
        differential_sharpe=sharpe,
        drawdown_penalty=drawdown_term,
        turnover_penalty=turnover_term,
        action_penalty=zeros + action_term,  # a tensor even when the size is a number
        variance_penalty=variance_term,
    )
    return total, terms, RewardState(peak=peak, drawdown=drawdown, sharpe_mean=mean, sharpe_second=second)


def differential_sharpe(
    growth: Tensor, mean: Tensor, second: Tensor, steps: int, decay: float
) -> tuple[Tensor, Tensor, Tensor]:
    """``(D_t, A_t, B_t)``, all (B,), as :func:`cryptofolio.envs.reward.differential_sharpe`."""
    if steps == 0:
        return torch.zeros_like(growth), mean + decay * (growth - mean), second + decay * (growth**2 - second)
    correction = 1.0 - (1.0 - decay) ** steps
    a, b = mean / correction, second / correction
    variance = b - a * a
    positive = (variance > VARIANCE_FLOOR * b) & (variance**1.5 > 0.0)  # (and not an underflow)
    scale = torch.where(positive, variance, torch.ones_like(variance)) ** 1.5  # no NaN gradient at 0
    sharpe = torch.where(positive, (b * (growth - a) - 0.5 * a * (growth**2 - b)) / scale, 0.0)
    return sharpe, mean + decay * (growth - mean), second + decay * (growth**2 - second)


def target_weights(
    actions: Tensor,
    drifted: Tensor,
    *,
    listed: Tensor | None = None,
    anchor: Tensor | None = None,
    tilt: float = 1.0,
    dial_cap: float = 0.0,
    band: float = 0.0,
    decide: Tensor | None = None,
) -> Tensor:
    """(B, N+1) target weights of (B, N+1) finite ``actions``: the env's whole mapping (``fill_targets``).

    Actions are clipped to [-1, 1]. Free mapping: ``w = (a + 1) / sum(a + 1)`` (all cash if every
    ``a_i = -1``), the weight of unlisted assets moved to cash. Residual mapping (``anchor``
    given): ``w ~ anchor * exp(tilt * a)``; with ``dial_cap > 0`` the cash entry is instead the risk
    dial (the risky share is ``min(1 + a_0, dial_cap)`` times the anchor's). A row trades only if
    it decides and, with ``band > 0``, some weight moves by ``band`` or more or it holds an asset no
    longer listed (delisted); otherwise it keeps ``drifted``.

    :param drifted: (B, N+1) weights before trading.
    :param listed: (B, N+1) bool, whether each asset is listed at the row's bar (cash True);
        None: all listed. The residual mapping reads it only for the band (the anchor is zero
        where unlisted).
    :param anchor: (B, N+1) the residual anchor at each row's bar (the env's ``anchor[t]``), or None.
    :param tilt: strength of a residual tilt.
    :param dial_cap: 0, or the cap of the residual risk dial.
    :param band: trade band (0: always trade).
    :param decide: (B,) bool, whether the row decides at this bar (``t % decision_every == 0``);
        None: every row decides.
    """
    clipped = torch.clamp(actions, -1.0, 1.0)
    if anchor is not None:
        tilted = anchor * torch.exp(tilt * clipped)
        if dial_cap > 0.0:
            weights = _dialled(tilted, anchor, clipped[:, :1], dial_cap)
        else:
            weights = tilted / tilted.sum(dim=1, keepdim=True)
    else:
        weights = _free_weights(clipped, listed)
    trades = torch.ones(actions.shape[0], dtype=torch.bool, device=actions.device)
    if band > 0.0:
        trades = ((weights - drifted).abs() >= band).any(dim=1)
        if listed is not None:  # a delisted position is always sold
            trades = trades | ((drifted[:, 1:] > 0.0) & ~listed[:, 1:]).any(dim=1)
    if decide is not None:
        trades = trades & decide
    return torch.where(trades[:, None], weights, drifted)


def _dialled(tilted: Tensor, anchor: Tensor, dial_action: Tensor, dial_cap: float) -> Tensor:
    """(B, N+1) the tilted risky weights scaled to ``min(1 + a_0, cap)`` times the anchor's risky share."""
    risky = tilted[:, 1:].sum(dim=1, keepdim=True)
    risky_anchor = anchor[:, 1:].sum(dim=1, keepdim=True)
    dial = torch.clamp(1.0 + dial_action, max=dial_cap)
    share = torch.clamp(dial * risky_anchor / (anchor[:, :1] + risky_anchor), max=1.0)
    held = risky > 0.0
    scaled = tilted[:, 1:] * (share / torch.where(held, risky, torch.ones_like(risky)))
    weights = torch.cat([1.0 - share, scaled], dim=1)
    cash = torch.zeros_like(weights)
    cash[:, 0] = 1.0
    return torch.where(held, weights, cash)


def _free_weights(clipped: Tensor, listed: Tensor | None) -> Tensor:
    """(B, N+1) ``(a + 1) / sum(a + 1)``; all cash if the sum is 0; the weight of unlisted assets in cash."""
    x = clipped + 1.0
    total = x.sum(dim=1, keepdim=True)
    positive = total > 0.0
    scaled = x * (1.0 / torch.where(positive, total, torch.ones_like(total)))  # no 0/0 in the gradient
    if listed is not None:
        unlisted = torch.where(listed, torch.zeros_like(scaled), scaled)
        scaled = torch.where(listed, scaled, torch.zeros_like(scaled))
        scaled = torch.cat([scaled[:, :1] + unlisted[:, 1:].sum(dim=1, keepdim=True), scaled[:, 1:]], dim=1)
    cash = torch.zeros_like(scaled)
    cash[:, 0] = 1.0
    return torch.where(positive, scaled, cash)


def action_size(actions: Tensor) -> Tensor:
    """(B,) mean square of each row of (B, N+1) ``actions`` clipped to [-1, 1] (the action penalty's size)."""
    return torch.clamp(actions, -1.0, 1.0).square().mean(dim=1)
