"""Throughput on this machine, from one run: envs, the batched env, and training.

    .venv/bin/python benchmarks/throughput.py [--seconds 3] [--ppo-steps N] [--sac-steps N]   (= make bench)

Prints: one PortfolioEnv (steps/s); DummyVecEnv of 8 and of 64 PortfolioEnvs (env-steps/s);
BatchedPortfolioEnv at B = 8, 64 and 1024 (portfolio-steps/s, infos kept to finished
episodes as in training); the batched/Dummy ratios at B = 8 and 64; PPO and SAC training with
the project's defaults (timesteps/s of ``model.learn`` on the training env stack, no
callbacks); the share of PPO's wall time spent stepping the env; peak resident memory.
Envs: 10 assets + cash, window 30, random actions drawn before timing, resets included.
Training: the default synthetic market and configs/<algo>.yaml.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from cryptofolio.agents.learners import learner
from cryptofolio.envs import PortfolioEnv, calibrated_model, split_by_fractions, synthetic_market
from cryptofolio.envs.vector_env import BatchedPortfolioEnv
from cryptofolio.training.config import resolve_config
from cryptofolio.training.train import make_training_env


def rate(step: Callable[[int], object], seconds: float) -> float:
    """Calls of ``step(i)`` per second, after a warm-up, over at least ``seconds``."""
    for i in range(200):
        step(i)
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            step(calls)
            calls += 1
    return calls / elapsed


def env_rates(seconds: float) -> dict[str, float]:
    symbols = ["BTC", *(s for s in calibrated_model().assets if s != "BTC")][:10]
    options: dict[str, Any] = {"market": synthetic_market(seed=0, symbols=symbols), "window": 30}
    columns = len(symbols) + 1
    rng = np.random.default_rng(0)
    rates = {}

    env = PortfolioEnv(**options)
    env.reset(seed=0)
    actions = rng.uniform(-1, 1, size=(4096, columns)).astype(np.float32)

    def single(i: int) -> None:
        *_, terminated, truncated, _ = env.step(actions[i % len(actions)])
        if terminated or truncated:
            env.reset()

    rates["single"] = rate(single, seconds)
    for n in (8, 64):
        batches = rng.uniform(-1, 1, size=(16, n, columns)).astype(np.float32)
        dummy = DummyVecEnv([lambda: PortfolioEnv(**options) for _ in range(n)])
        dummy.seed(0)
        dummy.reset()
        rates[f"dummy {n}"] = n * rate(lambda i, d=dummy, b=batches: d.step(b[i % len(b)]), seconds)
    for n in (8, 64, 1024):
        batches = rng.uniform(-1, 1, size=(16, n, columns)).astype(np.float32)
        batched = BatchedPortfolioEnv(n, infos="done", **options)
        batched.seed(0)
        batched.reset()
        rates[f"batched {n}"] = n * rate(lambda i, e=batched, b=batches: e.step(b[i % len(b)]), seconds)
    return rates


def training_rate(algo: str, steps: int) -> tuple[float, float]:
    """(timesteps/s, share of wall time in the env) of ``model.learn`` with the project's defaults."""
    config = resolve_config(algo, n_timesteps=steps)
    market = synthetic_market(seed=0)
    torch.set_num_threads(config.torch_threads)
    venv = make_training_env(config, market, split_by_fractions(market), seed=0)
    model = learner(algo).make(config, venv, 0)
    inner = venv.unwrapped
    step_wait, in_env = inner.step_wait, [0.0]

    def timed_step_wait() -> Any:
        start = time.perf_counter()
        result = step_wait()
        in_env[0] += time.perf_counter() - start
        return result

    inner.step_wait = timed_step_wait
    start = time.perf_counter()
    model.learn(steps)
    elapsed = time.perf_counter() - start
    return model.num_timesteps / elapsed, in_env[0] / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per env measurement (3)")
    parser.add_argument("--ppo-steps", type=int, default=100_000, help="PPO timesteps to time (100000)")
    parser.add_argument("--sac-steps", type=int, default=10_000, help="SAC timesteps to time (10000)")
    args = parser.parse_args()

    cores = torch.get_num_threads()
    print(f"machine: {platform.machine()}, {cores} cores for torch, python {platform.python_version()}")
    rates = env_rates(args.seconds)
    print(f"PortfolioEnv, one                      {rates['single']:>12,.0f} steps/s")
    for n in (8, 64):
        print(f"DummyVecEnv of {n:<4} PortfolioEnvs       {rates[f'dummy {n}']:>12,.0f} env-steps/s")
    for n in (8, 64, 1024):
        print(f"BatchedPortfolioEnv, B = {n:<5}          {rates[f'batched {n}']:>12,.0f} portfolio-steps/s")
    for n in (8, 64):
        ratio = rates[f"batched {n}"] / rates[f"dummy {n}"]
        print(f"batched / Dummy at B = {n:<3}              {ratio:>12.1f}x")
    ppo, ppo_env_share = training_rate("ppo", args.ppo_steps)
    sac, _ = training_rate("sac", args.sac_steps)
    print(f"PPO training, project defaults         {ppo:>12,.0f} timesteps/s")
    print(f"SAC training, project defaults         {sac:>12,.0f} timesteps/s")
    print(f"share of PPO wall time in the env      {ppo_env_share:>12.1%}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory                   {peak:>12,.0f} MB")


if __name__ == "__main__":
    main()
