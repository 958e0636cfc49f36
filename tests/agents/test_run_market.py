"""A run judged against a market by content: its metadata under every manifest, its prices by their closes."""

import json
import shutil

import pytest

from cryptofolio.agents.sb3 import (
    check_run_market,
    read_run_config,
    read_trusted_metadata,
)
from cryptofolio.agents.snapshots import SNAPSHOTS, write_manifest
from cryptofolio.envs import MarketConfig, MarketData
from cryptofolio.envs.errors import DataError, RunFolderError
from cryptofolio.evaluation.evaluate import evaluate
from tests.helpers import market_of_columns


@pytest.fixture
def run(tiny_runs, tmp_path):
    copy = tmp_path / tiny_runs[0].name
    shutil.copytree(tiny_runs[0], copy)
    return copy


def edit_metadata(run, change, reseal: bool = False):
    """Change ``metadata.json``; with ``reseal``, rewrite every manifest over it (a hostile folder's way)."""
    path = run / "metadata.json"
    metadata = json.loads(path.read_text())
    change(metadata)
    path.write_text(json.dumps(metadata))
    if reseal:
        for which in SNAPSHOTS:
            write_manifest(run / which, read_run_config(run), metadata)


def first_bars(market: MarketData, n_bars: int, source: str) -> MarketData:
    """The market's first ``n_bars`` bars under another source name: the same prices, cut."""
    return MarketData(
        timestamps=market.timestamps[:n_bars],
        symbols=market.symbols,
        close=market.close[:n_bars],
        available=market.available[:n_bars],
        categories=market.categories,
        freq=market.freq,
        source=source,
    )


def test_an_edited_training_date_is_refused_before_any_snapshot_is_loaded(run):
    edit_metadata(run, lambda m: m["splits"]["train"]["dates"].__setitem__(0, "2024-12-01T00:00:00+00:00"))
    with pytest.raises(RunFolderError, match=r"metadata\.json changed since best/ was saved"):
        read_trusted_metadata(run)


def test_a_changed_market_source_or_baseline_is_refused_but_status_and_steps_are_not(run):
    edit_metadata(run, lambda m: m.update(status="interrupted by signal 15", timesteps=7))
    assert read_trusted_metadata(run)["timesteps"] == 7  # they change as a run trains
    edit_metadata(run, lambda m: m["validation_baseline"].__setitem__("sharpe", 99.0))
    with pytest.raises(RunFolderError, match=r"metadata\.json changed since"):
        read_trusted_metadata(run)


def test_its_own_prices_pass_silently_and_cut_to_other_dates_with_a_note(run, default_market):
    market, _ = default_market
    assert check_run_market(run, market, allow_other=False) is None
    cut = first_bars(market, 1800, "/copied/elsewhere")
    note = check_run_market(run, cut, allow_other=False)
    assert note is not None and "/copied/elsewhere holds the prices run" in note


def test_other_prices_of_its_assets_are_refused_unless_allowed(run):
    other = MarketConfig(seed=1).load_market()  # another seed: other prices of the same symbols
    with pytest.raises(DataError, match=r"is not the data run .* give --other-market"):
        check_run_market(run, other, allow_other=False)
    note = check_run_market(run, other, allow_other=True)
    assert note is not None and "other prices of its assets" in note


def test_other_assets_are_refused_whatever_is_allowed(run, default_market):
    market, _ = default_market
    fewer = market_of_columns(market, [0, 1, 2])
    with pytest.raises(RunFolderError, match=r"same assets in the same order"):
        check_run_market(run, fewer, allow_other=True)


def test_a_run_without_anchor_closes_is_other_data_unless_its_fingerprint_matches(run, default_market):
    edit_metadata(run, lambda m: m.pop("anchors"), reseal=True)
    market, _ = default_market
    assert check_run_market(run, market, allow_other=False) is None
    cut = first_bars(market, market.n_bars - 5, "/somewhere/else")
    with pytest.raises(DataError, match=r"recorded no closes to compare .*; give --other-market"):
        check_run_market(run, cut, allow_other=False)


def test_an_edited_bar_length_is_blamed_on_the_metadata_not_on_the_market(run, default_market):
    market, splits = default_market
    edit_metadata(run, lambda m: m.update(periods_per_year=8760))
    with pytest.raises(RunFolderError, match=r"metadata\.json changed since"):
        evaluate([run], ["cash"], market, splits, "test", resamples=400)
