"""Env steps per second with random actions: one PortfolioEnv, and a DummyVecEnv of 8.

    .venv/bin/python benchmarks/env_throughput.py [--assets 10] [--window 30] [--seconds 3]

Figures come from one run on one machine: read them as ratios as much as absolutes.
Random actions are drawn before timing, so the figures measure the env, not the sampler.
Episode resets are included (one every ``episode_length`` steps).
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv

from envs import ENV_ID, PortfolioEnv, calibrated_model, synthetic_market


def steps_per_second(step: Callable[[int], None], seconds: float) -> float:
    """Calls of ``step(i)`` per second, after a warm-up, over at least ``seconds``."""
    for i in range(1000):
        step(i)
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(1000):
            step(calls)
            calls += 1
    return calls / elapsed


def single_env_rate(env: gym.Env, actions: np.ndarray, seconds: float) -> float:
    env.reset(seed=0)

    def step(i: int) -> None:
        _, _, terminated, truncated, _ = env.step(actions[i % len(actions)])
        if terminated or truncated:
            env.reset()

    return steps_per_second(step, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=10, help="risky assets (default 10)")
    parser.add_argument("--window", type=int, default=30, help="observation window in bars (default 30)")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per measurement (default 3)")
    args = parser.parse_args()

    symbols = ["BTC", *(s for s in calibrated_model().assets if s != "BTC")][: args.assets]
    market = synthetic_market(seed=0, symbols=symbols)
    kwargs = {"market": market, "window": args.window}
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(4096, args.assets + 1)).astype(np.float32)

    raw = single_env_rate(PortfolioEnv(**kwargs), actions, args.seconds)
    made = single_env_rate(gym.make(ENV_ID, **kwargs), actions, args.seconds)

    n_envs = 8
    vec = DummyVecEnv([lambda: PortfolioEnv(**kwargs) for _ in range(n_envs)])
    vec.seed(0)
    vec.reset()
    batches = actions[: (len(actions) // n_envs) * n_envs].reshape(-1, n_envs, args.assets + 1)
    vec_calls = steps_per_second(lambda i: vec.step(batches[i % len(batches)]), args.seconds)

    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(
        f"market: {args.assets} assets + cash, window {args.window}, "
        f"observation size {PortfolioEnv(**kwargs).observation_space.shape[0]}"
    )
    print(f"PortfolioEnv, direct             {raw:>10,.0f} steps/s")
    print(f"PortfolioEnv via gymnasium.make  {made:>10,.0f} steps/s  (checker and order wrappers)")
    print(
        f"DummyVecEnv of {n_envs}                {vec_calls * n_envs:>10,.0f} env-steps/s"
        f"  ({vec_calls:,.0f} calls/s)"
    )
    print(f"ratio DummyVecEnv / direct       {vec_calls * n_envs / raw:>10.2f}")


if __name__ == "__main__":
    main()
