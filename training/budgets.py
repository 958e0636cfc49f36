"""Every training budget the experiment plans (study, ablation, walk-forward) depart to: one place.

The learners' own budgets are ``n_timesteps`` of configs/<algo>.yaml; these constants are where a
plan trains for another number of steps, and the tiny budgets of each command's ``--quick``.
"""

from __future__ import annotations

STUDY_BUDGETS = {"ppo": 100_000, "sac": 20_000}
"""Timesteps per unit where the study departs from configs/<algo>.yaml, so that the full study trains
within an hour on two cores. ``benchmarks/study_budgets.py`` (moderate, six folds, two seeds) found
that the model a budget ends with scores no better on validation than the untrained policy, at any
budget up to the configs' (PPO 200,000, SAC 50,000); a longer budget raises only the best of more
checkpoints. ``cryptofolio study --timesteps ppo=200000,sac=50000`` runs the configs' budgets."""
STUDY_QUICK_BUDGETS = {
    "ppo": 1_024,
    "sac": 400,
    "td3": 400,
    "a2c": 1_024,
    "direct": 1_024,
    "recurrent_ppo": 512,
}
"""Timesteps per unit of ``cryptofolio study --quick``, per learner."""
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
