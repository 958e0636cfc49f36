"""The Optuna storage the workers share: on SQLite too, each waiting trial goes to one process."""

import multiprocessing
from pathlib import Path

import optuna
import pytest

from cryptofolio.training.optuna_studies import open_study


def pop(url: str, out: Path, trials: int) -> None:
    """A worker: pop ``trials`` waiting trials and write their numbers to ``out``."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = open_study("queue", url)
    out.write_text(",".join(str(study.ask().number) for _ in range(trials)))


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # ask() without optimize(), as a worker pops
@pytest.mark.slow  # several processes
def test_processes_popping_at_once_never_get_the_same_waiting_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = open_study("queue", url)
    for index in range(120):
        study.enqueue_trial({"unit": index})
    context = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"popped-{k}" for k in range(3)]
    workers = [context.Process(target=pop, args=(url, out, 40)) for out in outs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    popped = [int(n) for out in outs for n in out.read_text().split(",")]
    assert sorted(popped) == list(range(120))  # before the pop lock: 8-13 of 120 popped twice
