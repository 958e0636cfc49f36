"""Hypothesis strategies shared by the tests."""

import numpy as np
from hypothesis import strategies as st


@st.composite
def simplex(draw: st.DrawFn, n: int) -> np.ndarray:
    """(n,) non-negative weights summing to one, with exact zeros and vertices among them."""
    raw = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    sparse = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    raw = np.where(sparse, 0.0, raw)
    if raw.sum() <= 1e-9:
        raw[draw(st.integers(0, n - 1))] = 1.0
    return raw / raw.sum()
