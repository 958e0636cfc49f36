"""examples/register_learner.py runs as written: DDPG registered from outside the package, trained,
evaluated against the baselines (on a smaller budget here)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cryptofolio.agents import learners

EXAMPLE = Path(__file__).parents[2] / "examples" / "register_learner.py"


@pytest.fixture
def example():
    spec = importlib.util.spec_from_file_location("register_learner", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    learners.LEARNERS.pop("ddpg", None)


def test_the_example_trains_and_evaluates_ddpg_against_the_baselines(example, tmp_path, capsys):
    table = example.main(out=tmp_path, timesteps=300)
    (run,) = tmp_path.iterdir()
    assert list(table.index) == [run.name, *example.BASELINES]
    assert np.isfinite(table.loc[run.name, "sharpe"])
    assert (run / "checkpoint" / "replay_buffer.npz").is_file()  # off-policy, from DDPG's class
    assert "trained DDPG" in capsys.readouterr().out
