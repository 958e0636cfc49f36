"""The one mapping from actions to target weights, and its inverse.

An action ``a`` in ``[-1, 1]^(N+1)`` (cash first) becomes target weights::

    x_i = clip(a_i, -1, 1) + 1,      w_i = x_i / sum_j x_j      (all cash if every a_i = -1)

then the weight of any asset not listed at this bar moves to cash.

Two options of the env change the mapping (:func:`fill_targets`):

- residual: the action tilts an anchor, the risk profile's model portfolio ``m`` at the bar:
  ``w_i = m_i exp(tilt * clip(a_i)) / sum_j m_j exp(tilt * clip(a_j))``. The zero action is
  the model portfolio itself; assets it does not hold stay at zero.
- risk dial (with residual): the cash entry instead sets how much risk to hold. The risky
  part is the anchor's risky share ``R = 1 - m_0`` times ``s = min(1 + clip(a_0), cap)``
  (at most everything), split among the risky assets as tilted by their entries; cash holds
  the rest. ``a_0 = -1`` is all cash, ``a_0 = 0`` the anchor's risk, ``a_0 > 0`` more, up to
  ``cap`` times it. The zero action is still the model portfolio.
- trade band: when no weight would move by ``band`` or more from the drifted weights, the
  portfolio keeps its drifted weights and does not trade, unless it holds a delisted asset,
  which is always sold.
- decisions every k bars: on bars whose index is not a multiple of k the action is ignored
  (it must still be finite) and the portfolio drifts: k = 7 decides weekly on daily bars. Every point of the
simplex is reached: ``a_i = 2 w_i / max_j w_j - 1`` maps back to ``w`` exactly, so 100%
cash is ``(1, -1, ..., -1)`` and 100% in asset k is ``a_k = 1``, all others ``-1``. (A
softmax of actions clipped to [-1, 1] cannot: its largest weight is at most
``e^2 / (e^2 + N)``, 45% with ten assets.)
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces
from numba import njit


def action_space(n_columns: int) -> spaces.Box:
    """``Box(-1, 1, (N+1,), float32)``: one action entry per asset, cash first."""
    return spaces.Box(-1.0, 1.0, shape=(n_columns,), dtype=np.float32)


@njit(cache=True, inline="always")
def fill_weights(actions: np.ndarray, k: int, listed: np.ndarray, t: int, out: np.ndarray) -> bool:
    """Write the target weights of action ``k`` into ``out[k]``; False if an entry is not finite.

    :param actions: (B, N+1); :param listed: (T, N+1) listing flags, row t used;
    :param out: (B, N+1).
    """
    n = actions.shape[1]
    total = 0.0
    for i in range(n):
        a = actions[k, i]
        if not math.isfinite(a):
            return False
        x = min(max(a, -1.0), 1.0) + 1.0
        out[k, i] = x
        total += x
    if total <= 0.0:
        for i in range(n):
            out[k, i] = 0.0
        out[k, 0] = 1.0
        return True
    scale = 1.0 / total
    out[k, 0] *= scale
    for i in range(1, n):
        if listed[t, i]:
            out[k, i] *= scale
        else:
            out[k, 0] += out[k, i] * scale
            out[k, i] = 0.0
    return True


@njit(cache=True, inline="always")
def fill_tilted(
    actions: np.ndarray, k: int, anchor: np.ndarray, t: int, tilt: float, dial_cap: float, out: np.ndarray
) -> bool:
    """Write ``anchor[t]`` tilted by action ``k`` into ``out[k]``; False if an entry is not finite.

    :param anchor: (T, N+1) anchor weights per bar (zero where an asset is not listed).
    :param dial_cap: 0: every entry tilts; else the cash entry is the risk dial, capped at this.
    """
    n = actions.shape[1]
    total = 0.0
    for i in range(n):
        a = actions[k, i]
        if not math.isfinite(a):
            return False
        x = anchor[t, i] * math.exp(tilt * min(max(a, -1.0), 1.0))
        out[k, i] = x
        total += x
    if dial_cap <= 0.0:
        for i in range(n):
            out[k, i] /= total
        return True
    risky_anchor = 0.0
    risky = 0.0
    for i in range(1, n):
        risky_anchor += anchor[t, i]
        risky += out[k, i]
    if risky <= 0.0:  # the anchor holds no risky asset: nothing to dial
        for i in range(n):
            out[k, i] = 0.0
        out[k, 0] = 1.0
        return True
    dial = min(1.0 + min(max(actions[k, 0], -1.0), 1.0), dial_cap)
    share = min(dial * risky_anchor / (anchor[t, 0] + risky_anchor), 1.0)
    for i in range(1, n):
        out[k, i] *= share / risky
    out[k, 0] = 1.0 - share
    return True


@njit(cache=True, inline="always")
def fill_targets(
    actions: np.ndarray,
    k: int,
    listed: np.ndarray,
    anchor: np.ndarray,
    t: int,
    tilt: float,
    dial_cap: float,
    band: float,
    every: int,
    drifted: np.ndarray,
    out: np.ndarray,
) -> bool:
    """Target weights of portfolio ``k`` at bar ``t`` into ``out[k]``: the env's whole mapping.

    :param listed: (T, N+1) listing flags; :param anchor: (T, N+1) residual anchor, or (0, N+1)
        for the plain mapping; :param tilt: strength of a residual tilt; :param dial_cap: 0, or the
        cap of the residual risk dial (the cash entry sets the risky share); :param band: trade band
        (0: always trade); :param every: decide on bars ``t % every == 0`` only (1: every bar);
    :param drifted: (B, N+1) weights before trading.
    :return: False if the action has a non-finite entry.
    """
    n = out.shape[1]
    if every > 1 and t % every != 0:
        for i in range(n):
            if not math.isfinite(actions[k, i]):
                return False
            out[k, i] = drifted[k, i]
        return True
    if anchor.shape[0] > 0:
        ok = fill_tilted(actions, k, anchor, t, tilt, dial_cap, out)
    else:
        ok = fill_weights(actions, k, listed, t, out)
    if not ok or band <= 0.0:
        return ok
    for i in range(n):
        if abs(out[k, i] - drifted[k, i]) >= band:
            return True
        if i > 0 and drifted[k, i] > 0.0 and not listed[t, i]:  # a delisted position is always sold
            return True
    for i in range(n):
        out[k, i] = drifted[k, i]
    return True


@njit(cache=True, inline="always")
def action_size(actions: np.ndarray, k: int) -> float:
    """Mean square of action ``k``'s entries, clipped to [-1, 1]: the size of a residual tilt, in [0, 1]."""
    n = actions.shape[1]
    total = 0.0
    for i in range(n):
        a = min(max(actions[k, i], -1.0), 1.0)
        total += a * a
    return total / n


def check_action(action: np.ndarray, n_columns: int) -> np.ndarray:
    """``action`` as an (N+1,) float64 array.

    :raises ValueError: for entries that are not real numbers, a wrong shape (never reshaped), or a
        NaN or infinite entry.
    """
    array = np.asarray(action)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"action has entries of type {array.dtype}, expected real numbers")
    if array.shape != (n_columns,):
        raise ValueError(f"action has shape {array.shape}, expected {(n_columns,)} (cash plus each asset)")
    action = array.astype(np.float64)
    if not np.all(np.isfinite(action)):
        bad = np.flatnonzero(~np.isfinite(action)).tolist()
        raise ValueError(f"action has non-finite entries at positions {bad}: {action.tolist()}")
    return action


def action_to_weights(action: np.ndarray, listed: np.ndarray) -> np.ndarray:
    """(N+1,) float64 target weights for an (N+1,) action; see the module docstring.

    :param action: (N+1,) values in [-1, 1] (others are clipped), cash first.
    :param listed: (N+1,) bool, whether each asset can be held at this bar (cash: True).
    :raises ValueError: if the action has the wrong shape or a NaN or infinite entry.
    """
    action = check_action(action, listed.shape[0])
    weights = np.empty((1, action.shape[0]))
    fill_weights(action.reshape(1, -1), 0, listed.reshape(1, -1), 0, weights)
    return weights[0]


def weights_to_action(weights: np.ndarray) -> np.ndarray:
    """(N+1,) float64 action in [-1, 1] that :func:`action_to_weights` maps to ``weights``.

    Float64 keeps the round trip exact to ~1e-16; a float32 cast would move weights by ~1e-7.

    :param weights: (N+1,) non-negative weights summing to 1, cash first.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1 or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(f"weights must be a finite, non-negative vector, got {weights.tolist()}")
    if abs(weights.sum() - 1.0) > 1e-9:
        raise ValueError(f"weights must sum to 1, got {weights.sum()!r}")
    return 2.0 * weights / weights.max() - 1.0
