"""The ablation: chosen on validation only; a tiny version end to end on the real data."""

import re

import pandas as pd
import pytest

from cryptofolio import configs
from cryptofolio.cli import main
from cryptofolio.training.ablation import chosen_variant, profile_setup, variant_overrides, variant_unit
from cryptofolio.training.config import resolve_config
from cryptofolio.training.engine import ensure_trained


def validation_table(sharpe, std, turnover, test_sharpe=None):
    columns = {"val_sharpe": sharpe, "val_sharpe_std": std, "val_turnover_x_rule": turnover}
    test = {"test_sharpe": test_sharpe} if test_sharpe else {}
    return pd.DataFrame(columns | test, index=[chr(ord("a") + i) for i in range(len(sharpe))])


def test_the_variant_is_chosen_on_validation_whatever_the_test_says():
    table = validation_table([2.1, 2.5, 2.3], [0.1] * 3, [1.0] * 3, test_sharpe=[3.0, 0.5, 1.0])
    assert chosen_variant(table, turnover_limit=3) == "b"


def test_turnover_beyond_the_limit_is_chosen_only_if_validation_pays_for_it():
    assert chosen_variant(validation_table([2.5, 2.4], [0.3, 0.1], [5.0, 1.0]), turnover_limit=3) == "b"
    assert chosen_variant(validation_table([2.5, 2.4], [0.05, 0.1], [5.0, 1.0]), turnover_limit=3) == "a"
    assert chosen_variant(validation_table([2.5, 2.4], [0.3, 0.1], [5.0, 1.0])) == "a"  # no limit


def test_rows_without_validation_figures_are_never_chosen():
    table = validation_table([2.1, float("nan")], [0.1, float("nan")], [1.0, float("nan")], [1.0, 9.0])
    assert chosen_variant(table, turnover_limit=3) == "a"


def test_variants_start_from_every_lever_off_whatever_the_defaults():
    document = configs.read("ablation")
    free = resolve_config("ppo", overrides=variant_overrides(document["setup"], document["variants"]["free"]))
    actions = free.env.actions
    assert not actions.residual and actions.trade_band == 0 and free.bootstrap_block == 0
    assert free.env.observation.features == "window"
    assert free.hyperparams["policy_kwargs"]["log_std_init"] == 0.0  # SB3's, not configs/ppo.yaml's -1.5
    assert resolve_config("ppo").env.actions.residual  # while the default is residual
    chosen = document["variants"]["residual_band"]
    assert resolve_config("ppo", overrides=variant_overrides(document["setup"], chosen)).env.actions.residual


def test_every_variant_sets_options_the_trainer_knows():
    setup = configs.read("ablation")["setup"]
    for variant in configs.read("ablation")["variants"].values():  # resolve_config raises if not
        resolve_config(variant.get("algo", "ppo"), overrides=variant_overrides(setup, variant))


@pytest.mark.slow  # several processes
def test_the_tiny_ablation_runs_end_to_end(shared_data, tmp_path, capsys):
    args = [
        "ablation", "--market", str(shared_data / "binance-daily"), "--quick", "--out", str(tmp_path / "out"),
        "--checkpoints", str(tmp_path / "runs"), "--publish", str(tmp_path / "docs"), "--no-progress-bar",
    ]  # fmt: skip
    assert main([*args, "--variants", "free", "--workers", "2"]) == 0
    (root,) = (tmp_path / "runs").iterdir()
    capsys.readouterr()
    assert main([*args, "--variants", "free,residual_band", "--resume", str(root)]) == 0
    printed = capsys.readouterr().out
    assert "free: seed 1 is complete, skipped" in printed and "residual_band: training ppo seed 1" in printed
    text = (tmp_path / "docs" / "ablation.md").read_text()
    assert text.startswith("# Ablation: levers for agents that generalize")
    for section in (
        "## Validation (the only basis of choice)",
        "## Test",
        "## Verdict",
        "Chosen: `",
    ):
        assert section in text
    assert "`residual_band`" in text and "untrained_selected" in text
    assert re.search(r"\| free \|.*\| \d+\.\dx \(\d+\.\dx to \d+\.\dx\) \|", text)  # turnover vs the rule
    assert "Commands: `" in text and "`, then `" in text and "--resume" in text
    assert re.search(r"Code: \S+ \(4 runs\)\.", text)  # the commit each run folder recorded
    assert re.search(r"\| residual_band \(ensemble\) \|.*\| (yes|no) \| \d+\.\dx \|", text)
    assert re.search(r"\| ppo \| `residual_band` \|", text)  # PPO's variant chosen on validation


def test_the_tiny_ablation_on_the_synthetic_market_reads_its_fee_and_cash(tmp_path, capsys):
    args = [
        "ablation", "--market", "synthetic", "--quick", "--variants", "free", "--out", str(tmp_path / "out"),
        "--checkpoints", str(tmp_path / "runs"), "--no-progress-bar",
    ]  # fmt: skip
    assert main(args) == 0
    text = (tmp_path / "out" / "summary.md").read_text()
    assert "plus USDC as cash (the built-in synthetic market), fee 0.1% through the ledger" in text
    assert "Binance" not in text
    (root,) = (tmp_path / "runs").iterdir()
    assert sorted(p.name for p in (root / "free").iterdir()) == ["ppo-s0", "ppo-s1"]


def test_an_ablation_whose_splits_fall_outside_the_data_is_one_line_before_training(
    tmp_path, capsys, monkeypatch
):
    document = configs.read("ablation")
    late = {**document["setup"]["splits"], "test": ["2025-01-01", "2025-06-30"]}
    patched, read = {**document, "setup": {**document["setup"], "splits": late}}, configs.read
    monkeypatch.setattr(configs, "read", lambda name: patched if name == "ablation" else read(name))
    args = ["ablation", "--market", "synthetic", "--quick", "--variants", "free"]
    args += ["--checkpoints", str(tmp_path)]
    assert main(args) == 2
    error = capsys.readouterr().err.strip()
    assert (
        "unit free/ppo-s0: split 'test' from 2025-01-01 to 2025-06-30 ends after the market's last" in error
    )
    assert len(error.splitlines()) == 1 and not any(tmp_path.glob("*/free"))


def test_a_resume_names_a_folder_of_an_ablation(tmp_path, capsys):
    assert main(["ablation", "--quick", "--resume", str(tmp_path)]) == 2
    assert f"--resume {tmp_path}: no ablation.json there" in capsys.readouterr().err


def test_another_profile_brings_its_own_assets_and_baselines():
    setup = configs.read("ablation")["setup"]
    aggressive = profile_setup(setup, "aggressive")
    assert aggressive["profile"] == "aggressive" and "NEAR" in aggressive["assets"]
    assert aggressive["baselines"][:2] == ["aggressive", "aggressive_regime"]
    assert profile_setup(setup)["baselines"][:2] == ["moderate", "moderate_regime"]


def test_an_unknown_profile_is_one_line_and_exit_code_2(capsys):
    assert main(["ablation", "--quick", "--profile", "reckless"]) == 2
    assert (
        "--profile: configs/ablation.yaml lists assets for conservative, moderate, aggressive, not 'reckless'"
        in (capsys.readouterr().err)
    )


def test_a_resume_refuses_runs_trained_with_another_config(shared_data, tmp_path):
    document = configs.read("ablation")
    setup, variant = profile_setup(document["setup"]), document["variants"]["residual_band"]
    market = str(shared_data / "binance-daily")
    ensure_trained(variant_unit(market, setup, "residual_band", variant, 0, quick=True), tmp_path)
    changed = {**variant, "set": {**variant["set"], "env.actions.trade_band": 0.1}}
    with pytest.raises(
        ValueError, match=r"residual_band/ppo-s0: trained with another config than this plan's"
    ):
        ensure_trained(variant_unit(market, setup, "residual_band", changed, 0, quick=True), tmp_path)
