"""The budgets of the experiment plans (study, ablation, walk-forward): one place.

A learner's own budgets are its registry entry's (:class:`~cryptofolio.agents.learners.Budgets`: the
study's, the demo's, ``--quick``'s) or ``n_timesteps`` of its config file; the constants here are the
plans' own (the ablation's and walk-forward's), whatever the learner.
"""

from __future__ import annotations

from cryptofolio.agents.learners import learner, names


def study_budgets() -> dict[str, int]:
    """Each learner's timesteps per study unit where its registry entry departs from its config's
    ``n_timesteps`` (``Budgets.study``: PPO 100,000 and SAC 20,000, so that the full study trains within
    an hour on two cores; the registry entry says why)."""
    return {name: steps for name in names() if (steps := learner(name).budgets.study) is not None}


STUDY_QUICK_OVERRIDES = ("eval_freq=512", "n_envs=2")
"""Settings of ``cryptofolio study --quick``: validate twice a unit, on two envs."""
ABLATION_QUICK_TIMESTEPS = 512
"""Timesteps per run of ``cryptofolio ablation --quick``, whatever the learner."""
ABLATION_QUICK_SEEDS = (0, 1)
"""Seeds of ``cryptofolio ablation --quick``."""
ABLATION_QUICK_OVERRIDES = ("eval_freq=256", "n_envs=2")
"""Settings of ``cryptofolio ablation --quick``."""
WALKFORWARD_TIMESTEPS = 20_000
"""Timesteps per fold and seed of ``cryptofolio walkforward`` without ``--timesteps``."""
