"""The ablation: chosen on validation only; a tiny version end to end on the real data."""

import re

import pandas as pd

from cryptofolio import configs
from cryptofolio.cli import main
from cryptofolio.training.ablation import chosen_variant, variant_overrides
from cryptofolio.training.config import resolve_config


def test_the_variant_is_chosen_on_validation_whatever_the_test_says():
    table = pd.DataFrame(
        {"val_sharpe": [2.1, 2.5, 2.3], "test_sharpe": [3.0, 0.5, 1.0]}, index=["a", "b", "c"]
    )
    assert chosen_variant(table) == "b"


def test_variants_start_from_every_lever_off_whatever_the_defaults():
    document = configs.read("ablation")
    free = resolve_config("ppo", overrides=variant_overrides(document["setup"], document["variants"]["free"]))
    actions = free.env.actions
    assert not actions.residual and actions.trade_band == 0 and free.bootstrap_block == 0
    assert free.env.observation.features == "window"
    assert resolve_config("ppo").env.actions.residual  # while the default is residual
    chosen = document["variants"]["residual_band"]
    assert resolve_config("ppo", overrides=variant_overrides(document["setup"], chosen)).env.actions.residual


def test_every_variant_sets_options_the_trainer_knows():
    setup = configs.read("ablation")["setup"]
    for variant in configs.read("ablation")["variants"].values():  # resolve_config raises if not
        resolve_config(variant.get("algo", "ppo"), overrides=variant_overrides(setup, variant))


def test_the_tiny_ablation_runs_end_to_end(shared_data, tmp_path, capsys):
    args = [
        "ablation", "--market", str(shared_data / "binance-daily"), "--quick",
        "--variants", "free,residual_band", "--out", str(tmp_path / "out"),
        "--checkpoints", str(tmp_path / "runs"), "--publish", str(tmp_path / "docs"), "--no-progress-bar",
    ]  # fmt: skip
    assert main(args) == 0
    text = (tmp_path / "docs" / "ablation.md").read_text()
    assert text.startswith("# Ablation: levers for agents that generalize")
    for section in (
        "## Validation (the only basis of choice)",
        "## Test",
        "## Verdict",
        "Chosen on validation",
    ):
        assert section in text
    assert "`residual_band`" in text and "untrained_selected" in text
    assert re.search(r"\| free \|.*\| \d+\.\dx \(\d+\.\dx to \d+\.\dx\) \|", text)  # turnover vs the rule
