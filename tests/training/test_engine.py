"""The experiment engine: one rule for a unit's run folder, plans checked before training, the worker
queue shared out between processes, and each worker's share of the cores."""

import os

import pytest

from cryptofolio.envs import MarketConfig, SplitDates
from cryptofolio.training.engine import (
    THREAD_VARIABLES,
    Unit,
    check_units,
    ensure_trained,
    thread_environment,
    threads_per_worker,
    train_units,
)
from cryptofolio.training.run_folder import RunFolder

TINY = (
    "n_envs=2", "eval_freq=100", "checkpoint_freq=200", "policy_kwargs.net_arch=[16,16]",
    "env.episode_length=60", "n_steps=32", "batch_size=32", "n_epochs=2",
)  # fmt: skip


def tiny_unit(key="moderate/ppo-s0", seed=0, note="", market=None):
    market = market or MarketConfig()
    return Unit(key, "ppo", "moderate", seed, market, timesteps=128, overrides=TINY, note=note)


def test_a_complete_unit_is_skipped_and_a_folder_of_another_config_refused(tmp_path, capsys):
    unit = tiny_unit(note="free")
    path = ensure_trained(unit, tmp_path)
    assert path == tmp_path / unit.key and RunFolder(path).progress() == "complete"
    assert ensure_trained(unit, tmp_path) == path
    assert capsys.readouterr().out.splitlines() == [
        "free: training ppo seed 0",
        "free: seed 0 is complete, skipped",
    ]
    with pytest.raises(ValueError, match=r"ppo-s0: trained with another config than this plan's"):
        ensure_trained(tiny_unit(seed=1), tmp_path)


def test_a_folder_abandoned_before_its_first_checkpoint_is_moved_aside_and_trained_anew(tmp_path):
    unit = tiny_unit()
    RunFolder.create(tmp_path / "moderate", unit.config(), name="ppo-s0")  # a worker killed at once
    ensure_trained(unit, tmp_path)
    (aside,) = (tmp_path / "moderate").glob("ppo-s0.abandoned-*")
    assert RunFolder(tmp_path / unit.key).progress() == "complete" and not (aside / "metadata.json").exists()


def test_a_plan_whose_splits_fall_outside_the_data_is_refused_before_training(tmp_path):
    late = SplitDates(
        ("2019-01-01", "2024-06-30"), ("2024-07-01", "2024-12-28"), ("2025-01-01", "2025-06-30")
    )
    units = [tiny_unit(), tiny_unit("moderate/late", market=MarketConfig(splits=late))]
    with pytest.raises(
        ValueError, match=r"^unit moderate/late: split 'test' from 2025-01-01 .* ends after the"
    ):
        check_units(units)
    with pytest.raises(ValueError, match=r"^unit moderate/ppo-s0: --set"):
        check_units([Unit("moderate/ppo-s0", "ppo", "moderate", 0, MarketConfig(), overrides=("n_envs",))])


@pytest.mark.parametrize(("workers", "cores", "threads"), [(1, 2, None), (2, 2, 1), (2, 8, 4), (3, 2, 1)])
def test_each_worker_gets_its_share_of_the_cores_and_one_worker_keeps_the_defaults(workers, cores, threads):
    assert threads_per_worker(workers, cores) == threads


def test_the_thread_variables_are_set_while_workers_start_then_restored(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    with thread_environment(1):
        assert all(os.environ[name] == "1" for name in THREAD_VARIABLES)
    assert os.environ["OMP_NUM_THREADS"] == "7" and "NUMBA_NUM_THREADS" not in os.environ


@pytest.mark.slow  # several processes
def test_two_worker_processes_train_every_unit_once(tmp_path):
    units = [tiny_unit(f"moderate/ppo-s{seed}", seed) for seed in (0, 1)]
    train_units(units, tmp_path, workers=2)
    assert all(RunFolder(tmp_path / unit.key).progress() == "complete" for unit in units)
    assert sorted(p.name for p in (tmp_path / "moderate").iterdir()) == ["ppo-s0", "ppo-s1"]
