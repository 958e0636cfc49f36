"""The README's Python examples run as written (a run folder and the data path filled in)."""

import re
from pathlib import Path

import pytest

from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train
from tests.helpers import SHARED_DATA, tiny_overrides

README = (Path(__file__).parents[1] / "README.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
RUN_PLACEHOLDER = '"checkpoints/ppo-moderate-synthetic-s0-..."'


def test_the_readme_has_its_examples():
    assert len(EXAMPLES) == 5 and any(RUN_PLACEHOLDER in e for e in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_a_readme_example_runs(example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what an example writes (a report folder) lands here
    if "../shared/data" in example:
        if not SHARED_DATA.is_dir():
            pytest.skip(f"real market data not found at {SHARED_DATA}")
        example = example.replace("../shared/data", str(SHARED_DATA))
    if RUN_PLACEHOLDER in example:
        config = resolve_config("ppo", overrides=tiny_overrides("ppo"), n_timesteps=100)
        run = RunFolder.create(tmp_path, config)
        train(config, run)
        example = example.replace(RUN_PLACEHOLDER, repr(str(run.path)))
    exec(compile(example, "README.md", "exec"), {})
