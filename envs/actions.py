"""The one mapping from actions to target weights, and its inverse.

An action ``a`` in ``[-1, 1]^(N+1)`` (cash first) becomes target weights::

    x_i = clip(a_i, -1, 1) + 1,      w_i = x_i / sum_j x_j      (all cash if every a_i = -1)

then the weight of any asset not listed at this bar moves to cash. Every point of the
simplex is reached: ``a_i = 2 w_i / max_j w_j - 1`` maps back to ``w`` exactly, so 100%
cash is ``(1, -1, ..., -1)`` and 100% in asset k is ``a_k = 1``, all others ``-1``. (A
softmax of actions clipped to [-1, 1] cannot: its largest weight is at most
``e^2 / (e^2 + N)``, 45% with ten assets.)
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _to_weights(action: np.ndarray, listed: np.ndarray) -> tuple[np.ndarray, bool]:
    n = action.shape[0]
    weights = np.empty(n)
    total = 0.0
    for i in range(n):
        a = float(action[i])
        if not np.isfinite(a):
            return weights, False
        weights[i] = min(max(a, -1.0), 1.0) + 1.0
        total += weights[i]
    if total <= 0.0:
        weights[:] = 0.0
        weights[0] = 1.0
        return weights, True
    for i in range(n):
        weights[i] /= total
    for i in range(1, n):
        if not listed[i]:
            weights[0] += weights[i]
            weights[i] = 0.0
    return weights, True


def action_to_weights(action: np.ndarray, listed: np.ndarray) -> np.ndarray:
    """(N+1,) float64 target weights for an (N+1,) action; see the module docstring.

    :param action: (N+1,) values in [-1, 1] (others are clipped), cash first.
    :param listed: (N+1,) bool, whether each asset can be held at this bar (cash: True).
    :raises ValueError: if the action has the wrong shape or a NaN or infinite entry.
    """
    action = np.asarray(action)
    if action.shape != listed.shape:
        raise ValueError(f"action has shape {action.shape}, expected {listed.shape} (cash plus each asset)")
    weights, finite = _to_weights(action, listed)
    if not finite:
        bad = np.flatnonzero(~np.isfinite(action)).tolist()
        raise ValueError(f"action has non-finite entries at positions {bad}: {action.tolist()}")
    return weights


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
