"""One installed name: everything under ``cryptofolio``, whatever the user's folder holds."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).parents[1]
OLD_NAMES = ("envs", "agents", "training", "evaluation", "configs", "cli")
SHADOWS = {
    "configs/__init__.py": "read = None  # a user's own configs package\n",
    "agents/__init__.py": "",
    "envs.py": "raise ImportError('the user\\'s envs.py was imported')\n",
    "training.py": "raise ImportError('the user\\'s training.py was imported')\n",
    "evaluation.py": "raise ImportError('the user\\'s evaluation.py was imported')\n",
}
LIBRARY = """
import gymnasium as gym
import cryptofolio.envs
env = gym.make("CryptoPortfolio-v0")
env.reset(seed=0)
env.step(env.action_space.sample())
from cryptofolio.agents import load_policy
from cryptofolio.evaluation.evaluate import evaluate
from cryptofolio.training.train import train
from cryptofolio.configs import read
print("imports ok", read("profiles")["profiles"]["moderate"]["max_drawdown"])
"""


@pytest.fixture
def user_folder(tmp_path):
    """A folder holding the user's own configs/, agents/, envs.py, training.py and evaluation.py."""
    for name, text in SHADOWS.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_the_library_imports_and_registers_its_env_beside_the_users_own_modules(user_folder):
    result = python("-c", LIBRARY, cwd=user_folder)
    assert result.returncode == 0, result.stderr
    assert "imports ok 0.35" in result.stdout


def test_the_command_line_runs_beside_the_users_own_modules(user_folder):
    result = python("-m", "cryptofolio", "backtest", "--policies", "cash", "--out", "out", cwd=user_folder)
    assert result.returncode == 0, result.stderr
    assert (user_folder / "out" / "metrics.csv").is_file()


def test_nothing_but_cryptofolio_is_importable_from_the_install(tmp_path):
    probe = f"import importlib.util; print([n for n in {OLD_NAMES!r} if importlib.util.find_spec(n)])"
    result = python("-I", "-c", probe, cwd=tmp_path)  # -I: the install alone, no current folder
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_built_wheel_holds_only_the_cryptofolio_package(tmp_path):
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(tmp_path),
    ]
    subprocess.run([*build, str(PROJECT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("cryptofolio-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"cryptofolio", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "cryptofolio/configs/ppo.yaml" in names and "cryptofolio/envs/ledger.py" in names


def test_the_lint_rule_refuses_imports_by_folder_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import envs\nfrom training.train import train\n")
    ruff = [
        sys.executable,
        "-m",
        "ruff",
        "check",
        "--select",
        "TID251",
        "--config",
        str(PROJECT / "pyproject.toml"),
    ]
    flagged = subprocess.run([*ruff, str(bad)], capture_output=True, text=True, check=False)
    assert flagged.returncode == 1 and flagged.stdout.count("TID251") == 2
    clean = subprocess.run([*ruff, str(PROJECT)], capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout
