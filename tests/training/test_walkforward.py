"""Walk-forward: rolling folds that tile the period, trained and tested end to end."""

import itertools

import pandas as pd
import pytest

from cryptofolio.cli import main
from cryptofolio.envs import synthetic_market
from cryptofolio.training.folds import rolling_folds
from tests.training.test_train_cli import tiny_args


def test_folds_roll_forward_and_their_test_splits_tile_the_period():
    market = synthetic_market(seed=0, n_bars=1000)
    folds = rolling_folds(market, train_days=400, val_days=100, test_days=100)
    assert len(folds) == 5
    day = pd.Timedelta(days=1)
    for fold, following in itertools.pairwise(folds):
        assert pd.Timestamp(following.test[0]) == pd.Timestamp(fold.test[1]) + day
    for fold in folds:
        assert pd.Timestamp(fold.dates.validation[0]) == pd.Timestamp(fold.dates.train[1]) + day
    assert pd.Timestamp(folds[-1].test[1]) <= market.timestamps[-1].tz_localize(None)


def test_too_short_a_market_is_refused():
    with pytest.raises(ValueError, match="hold no fold"):
        rolling_folds(synthetic_market(seed=0, n_bars=300), train_days=400, val_days=100, test_days=100)


def test_walkforward_end_to_end(tmp_path, capsys):
    args = [
        "walkforward", "--algo", "ppo", "--train-days", "1200", "--val-days", "300", "--test-days", "300",
        "--timesteps", "128", "--seeds", "0", *tiny_args(), "--out", str(tmp_path / "report"),
        "--checkpoints", str(tmp_path / "runs"), "--no-progress-bar",
    ]  # fmt: skip
    assert main(args) == 0
    folds = pd.read_csv(tmp_path / "report" / "folds.csv")
    chained = pd.read_csv(tmp_path / "report" / "chained.csv", index_col="policy")
    assert len(folds) == 2 and {"moderate", "equal_weight", "btc_only", "ppo-moderate"} <= set(chained.index)
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "## Test folds" in markdown and "Fold 1: Does ppo-moderate" in markdown
    assert "report:" in capsys.readouterr().out
    assert main(args) == 0  # started again: every unit is complete, nothing trains
    printed = capsys.readouterr().out
    assert "fold 2/2 (train " in printed and "): seed 0 is complete, skipped" in printed
    assert "training" not in printed and pd.read_csv(tmp_path / "report" / "folds.csv").equals(folds)
