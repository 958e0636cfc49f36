"""Walk-forward: rolling folds that tile the period, trained and tested end to end."""

import itertools

import pandas as pd
import pytest

from cryptofolio.cli import main
from cryptofolio.envs import synthetic_market
from cryptofolio.training.walkforward import make_folds
from tests.training.test_train_cli import tiny_args


def test_folds_roll_forward_and_their_test_splits_tile_the_period():
    market = synthetic_market(seed=0, n_bars=1000)
    folds = make_folds(market, train_days=400, val_days=100, test_days=100)
    assert len(folds) == 5
    for fold, following in itertools.pairwise(folds):
        assert following.splits.test.start == fold.splits.test.stop
        assert fold.splits.train.stop == fold.splits.validation.start
    assert folds[-1].splits.test.stop <= market.n_bars


def test_too_short_a_market_is_refused():
    with pytest.raises(ValueError, match="hold no fold"):
        make_folds(synthetic_market(seed=0, n_bars=300), train_days=400, val_days=100, test_days=100)


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
