"""The results study: a tiny version end to end on the real daily data (skipped where it is absent)."""

from cryptofolio.cli import main
from cryptofolio.envs import load_csv_dir
from cryptofolio.envs.profiles import profile_assets


def test_each_profile_trades_its_own_assets(shared_data):
    market = load_csv_dir(shared_data / "binance-daily")
    assert profile_assets("conservative", market.symbols[1:]) == ("BTC", "ETH", "SOL", "LINK", "UNI")
    assert profile_assets("aggressive", market.symbols[1:])[-1] == "MKR"  # the "other DeFi" weight


def test_the_tiny_study_runs_end_to_end(shared_data, tmp_path, capsys):
    args = [
        "study", "--market", str(shared_data / "binance-daily"), "--quick", "--out", str(tmp_path / "out"),
        "--checkpoints", str(tmp_path / "runs"), "--publish", str(tmp_path / "docs"), "--no-progress-bar",
    ]  # fmt: skip
    assert main(args) == 0
    summary = (tmp_path / "docs" / "results.md").read_text()
    assert summary.startswith("# Results on real crypto prices") and "Wall time:" in summary
    assert "## Moderate" in summary and "Does ppo-moderate (1 seed) beat the moderate baseline" in summary
    assert "![moderate equity](results/moderate-equity.png)" in summary
    assert (tmp_path / "docs" / "results" / "moderate-equity.png").is_file()
    assert (tmp_path / "out" / "moderate" / "report.html").is_file()


def test_an_earlier_study_can_be_reported_again_without_training(shared_data, tmp_path, capsys):
    common = ["--market", str(shared_data / "binance-daily"), "--quick", "--out", str(tmp_path / "out")]
    assert main(["study", *common, "--checkpoints", str(tmp_path / "runs"), "--no-progress-bar"]) == 0
    (root,) = (tmp_path / "runs").iterdir()
    assert main(["study", *common, "--reuse", str(root)]) == 0
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "Reported again by `cryptofolio study" in summary and "## What this shows" in summary
    assert "Model selection on the 2023 validation split kept the untrained policy" in summary
