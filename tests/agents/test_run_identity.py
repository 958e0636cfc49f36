"""A run folder's data judged by content: its metadata under the manifest, markets compared by prices."""

import dataclasses
import json
import shutil

import numpy as np
import pytest

from cryptofolio.agents.run_identity import ANCHORS, market_note, same_prices
from cryptofolio.agents.sb3 import load_policy, read_run_metadata
from cryptofolio.cli import main
from cryptofolio.envs import MarketConfig, PlanError, RunFolderError
from cryptofolio.evaluation.evaluate import evaluate
from tests.helpers import market_of_columns


@pytest.fixture
def run(tiny_runs, tmp_path):
    copy = tmp_path / tiny_runs[0].name
    shutil.copytree(tiny_runs[0], copy)
    return copy


def edit_metadata(run, change):
    path = run / "metadata.json"
    metadata = json.loads(path.read_text())
    change(metadata)
    path.write_text(json.dumps(metadata))


def test_an_edited_training_date_is_refused_naming_the_metadata(run):
    edit_metadata(run, lambda m: m["splits"]["train"]["dates"].__setitem__(1, "2000-01-01T00:00:00+00:00"))
    with pytest.raises(RunFolderError, match=r"metadata\.json changed since best/ was saved"):
        load_policy(run)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("symbols", "BTC", "symbols must be a list of two or more asset symbols"),
        ("periods_per_year", -1, "periods_per_year must be a positive number"),
        ("market_fingerprint", None, "market_fingerprint must be a string"),
        ("splits", {"train": {"dates": ["x", "y"], "used_for": "training"}}, "splits must be a mapping"),
        ("anchors", {"train": [["2024-01-01", [1.0]]]}, "anchors must be"),
    ],
)
def test_metadata_of_the_wrong_kind_is_refused_naming_file_and_entry(run, key, value, message):
    edit_metadata(run, lambda m: m.__setitem__(key, value))
    with pytest.raises(RunFolderError, match=rf"metadata\.json: {message}"):
        read_run_metadata(run)


def test_a_split_date_that_is_not_a_date_is_refused(run):
    edit_metadata(run, lambda m: m["splits"]["validation"].__setitem__("dates", ["soon", None]))
    with pytest.raises(RunFolderError, match=r"splits\.validation\.dates must be two dates, got 'soon'"):
        read_run_metadata(run)


def test_the_same_prices_under_another_name_are_in_sample(tiny_runs, default_market):
    market, splits = default_market
    elsewhere = dataclasses.replace(market, source="/somewhere/else")
    with pytest.raises(PlanError, match=r"used .* of these prices for model selection"):
        evaluate([tiny_runs[0]], ["cash"], elsewhere, splits, "validation", resamples=400)


def test_a_market_sharing_some_assets_prices_holds_the_runs_data(tiny_runs, default_market):
    market, _ = default_market
    metadata = read_run_metadata(tiny_runs[0])
    some = market_of_columns(market, [0, 2, 3])  # other columns: another fingerprint
    assert some.fingerprint() != metadata["market_fingerprint"] and same_prices(metadata, some)
    other = MarketConfig(seed=1).load()[0]  # a synthetic market of another seed: other prices
    assert not same_prices(metadata, other)


def test_other_prices_of_the_same_dates_may_be_evaluated_on_any_split(tiny_runs):
    market, splits = MarketConfig(seed=1).load()
    evaluation = evaluate([tiny_runs[0]], ["cash"], market, splits, "validation", resamples=400)
    assert any("is not the data run" in line for line in evaluation.claims)  # said, not absorbed


def test_a_market_of_other_assets_is_refused_naming_both(tiny_runs, default_market):
    market, _ = default_market
    metadata = read_run_metadata(tiny_runs[0])
    swapped = market_of_columns(market, [0, 2, 1, *range(3, len(market.symbols))])  # BTC and ETH swapped
    with pytest.raises(RunFolderError, match=r"trained on .*; .* holds .*same assets in the same order"):
        market_note(metadata, swapped, tiny_runs[0].name)
    assert market_note(metadata, market, tiny_runs[0].name) is None


def test_resuming_a_run_folder_that_holds_a_link_writes_nothing_through_it(run, tmp_path, capsys):
    outside = tmp_path / "outside.csv"
    outside.write_text("mine\n")
    (run / "progress.csv").unlink()
    (run / "progress.csv").symlink_to(outside)
    code = main(["train", "--resume", str(run), "--timesteps", "400"])
    error = capsys.readouterr().err
    assert code == 2 and "progress.csv is a link to" in error and "Traceback" not in error
    assert outside.read_text() == "mine\n"


def test_new_runs_record_anchor_closes_of_the_splits_they_used(tiny_runs, default_market):
    market, splits = default_market
    anchors = read_run_metadata(tiny_runs[0])["anchors"]
    first_train = market.close[splits["train"].start]
    np.testing.assert_array_equal(anchors["train"][0][1], first_train)
    assert set(anchors) == {"train", "validation"}
    last_validation = market.close[splits["validation"].stop - 1]
    np.testing.assert_array_equal(anchors["validation"][-1][1], last_validation)
    assert all(len(points) == ANCHORS for points in anchors.values())  # spread over each split


def test_the_runs_prices_nudged_by_a_hair_are_still_its_data(tiny_runs, default_market):
    market, splits = default_market
    nudged = dataclasses.replace(market, close=market.close * (1 + 1e-6), source="/nudged")
    metadata = read_run_metadata(tiny_runs[0])
    assert nudged.fingerprint() != metadata["market_fingerprint"] and same_prices(metadata, nudged)
    with pytest.raises(PlanError, match=r"used .* of these prices for training"):
        evaluate([tiny_runs[0]], ["cash"], nudged, splits, "train", resamples=400)
