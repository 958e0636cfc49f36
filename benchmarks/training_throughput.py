"""Training speed and validation quality at equal timesteps: the project's defaults against SB3's.

    .venv/bin/python benchmarks/training_throughput.py --algo ppo --timesteps 50000 --seeds 0,1,2
    .venv/bin/python benchmarks/training_throughput.py --algo sac --timesteps 20000 \\
        --variant sb3 sb3 --variant project project --variant wide project policy_kwargs.net_arch=[256,256]

A variant is ``LABEL BASE [KEY=VALUE ...]``: BASE ``project`` is configs/<algo>.yaml,
``sb3`` is stable-baselines3's constructor defaults with one env. Both keep the project's
env and observation normalization, so only the algorithm's settings differ. Each run trains
on the synthetic market's train split and is validated once, at the end; the table gives
timesteps per second of the whole run (setup and two validation backtests included) and
the validation metrics of the final model, with the moderate baseline's for reference.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from cryptofolio.training.config import TrainConfig, resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train


def variant_config(
    algo: str, base: str, overrides: list[str], timesteps: int, seed: int, threads: int, workdir: Path
) -> TrainConfig:
    run_settings = [f"eval_freq={timesteps}", f"checkpoint_freq={timesteps}", f"torch_threads={threads}"]
    if base == "project":
        return resolve_config(algo, overrides=[*run_settings, *overrides], n_timesteps=timesteps, seed=seed)
    if base == "sb3":
        sb3_defaults = workdir / "sb3-defaults.yaml"  # no hyperparameters: the constructor's defaults
        sb3_defaults.write_text("default:\n  n_envs: 1\n")
        return resolve_config(
            algo,
            hyperparams_file=sb3_defaults,
            overrides=[*run_settings, *overrides],
            n_timesteps=timesteps,
            seed=seed,
        )
    raise ValueError(f"unknown base {base!r}: project or sb3")


def measure(config: TrainConfig, workdir: Path) -> dict[str, float]:
    run = RunFolder.create(workdir / "runs", config)
    start = time.perf_counter()
    outcome = train(config, run)
    elapsed = time.perf_counter() - start
    final = pd.read_csv(run.path / "evaluations.csv").iloc[-1]
    shutil.rmtree(run.path)
    return {
        "steps/s": outcome.timesteps / elapsed,
        "seconds": elapsed,
        "val_sharpe": final["sharpe"],
        "val_return": final["total_return"],
        "val_max_dd": final["max_drawdown"],
        "baseline_sharpe": outcome.baseline["sharpe"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--algo", default="ppo", choices=("ppo", "sac", "a2c", "td3"))
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--variant", nargs="+", action="append", metavar="LABEL BASE KEY=VALUE", help="see above"
    )
    args = parser.parse_args()
    variants = args.variant or [["sb3", "sb3"], ["project", "project"]]
    seeds = [int(s) for s in args.seeds.split(",")]

    print(f"{platform.machine()}, {torch.get_num_threads()} torch threads available, using {args.threads}")
    print(f"{args.algo}, {args.timesteps:,} timesteps, seeds {seeds}, synthetic market (seed 0)")
    rows = []
    workdir = Path(tempfile.mkdtemp(prefix="training-throughput-"))
    for label, base, *overrides in variants:
        for seed in seeds:
            config = variant_config(args.algo, base, overrides, args.timesteps, seed, args.threads, workdir)
            rows.append({"variant": label, "seed": seed, **measure(config, workdir)})
            print(
                "  ".join(
                    f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in rows[-1].items()
                ),
                flush=True,
            )
    grouped = pd.DataFrame(rows).drop(columns="seed").groupby("variant", sort=False)
    print("\nmean over seeds:")
    print(grouped.mean().to_string(float_format="%.3f"))
    if len(seeds) > 1:
        print("\nstandard deviation over seeds:")
        print(grouped.std().to_string(float_format="%.3f"))
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
