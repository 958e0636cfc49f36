"""Wall time of one seed to its selected model: the gradient agent against PPO, default configs.

    .venv/bin/python benchmarks/time_to_selection.py                       # both, seed 0
    .venv/bin/python benchmarks/time_to_selection.py --algos direct --seeds 0,1,2

Each run is ``cryptofolio train --algo ALGO`` with ``configs/<algo>.yaml`` as it is, on the
ablation's setup (the moderate universe on ../shared/data/binance-daily, its splits) when the
shared data is there, else on the synthetic market. "to selected" is the wall time from the
start of ``train`` to the moment ``best/`` was last written (its manifest's modification time):
when the model that validation selected existed. "whole run" includes the rest of the budget
and the final validation.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from cryptofolio import configs
from cryptofolio.envs import MarketConfig
from cryptofolio.training.ablation import profile_setup, setup_market
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-daily"


def market() -> MarketConfig:
    """The ablation's setup on the shared data, or the synthetic market without it."""
    if not SHARED.is_dir():
        return MarketConfig()
    return setup_market(str(SHARED), profile_setup(configs.read("ablation")["setup"]))


def measure(algo: str, seed: int, workdir: Path) -> dict[str, float]:
    config = resolve_config(algo, market=market(), seed=seed)
    run = RunFolder.create(workdir, config)
    start = time.time()
    outcome = train(config, run)
    whole = time.time() - start
    selected = (run.path / "best" / "manifest.json").stat().st_mtime - start
    state = json.loads((run.path / "best" / "state.json").read_text())
    return {
        "timesteps": outcome.timesteps,
        "selected at": state["timesteps"],
        "to selected (s)": selected,
        "whole run (s)": whole,
        "validation sharpe": state["score"],
        "baseline sharpe": outcome.baseline["sharpe"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--algos", default="direct,ppo")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {torch.get_num_threads()} cores for torch, python "
        f"{platform.python_version()}; market: {market().source}"
    )
    header = (
        "algo",
        "seed",
        "timesteps",
        "selected at",
        "to selected (s)",
        "whole run (s)",
        "val sharpe",
        "rule",
    )
    print("{:<7}{:>5}{:>11}{:>13}{:>17}{:>15}{:>12}{:>7}".format(*header))
    with tempfile.TemporaryDirectory() as workdir:
        for algo in args.algos.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                m = measure(algo, seed, Path(workdir))
                print(
                    f"{algo:<7}{seed:>5}{m['timesteps']:>11,}{m['selected at']:>13,}"
                    f"{m['to selected (s)']:>17.1f}"
                    f"{m['whole run (s)']:>15.1f}{m['validation sharpe']:>12.3f}{m['baseline sharpe']:>7.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
