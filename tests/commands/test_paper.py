"""`cryptofolio paper`: start, advance and status from the command line, and refusals in one line."""

import json

from cryptofolio.cli import main
from cryptofolio.evaluation import paper


def test_start_advance_and_status_follow_a_rule(tmp_path, capsys):
    holdings = tmp_path / "h.json"
    holdings.write_text(json.dumps({"BTC": 0.1, "USDC": 5000}))
    journal, figure = tmp_path / "j.db", tmp_path / "j.png"
    start = ["paper", "start", "--journal", str(journal), "--policy", "moderate+voltarget+ddbrake"]
    assert main([*start, "--holdings", str(holdings), "--as-of", "2024-11-01"]) == 0
    assert main(["paper", "advance", "--journal", str(journal)]) == 0
    assert main(["paper", "advance", "--journal", str(journal)]) == 0
    out = capsys.readouterr().out
    assert "recorded 58 bar(s)" in out and "nothing new" in out
    assert main(["paper", "status", "--journal", str(journal), "--figure", str(figure)]) == 0
    status = capsys.readouterr().out
    assert "moderate+voltarget+ddbrake" in status and "buy_and_hold" in status and figure.stat().st_size > 0
    assert len(paper.read(journal).bars) == 59
    assert main([*start, "--holdings", str(holdings)]) == 2  # never started over
    assert "a journal is started once" in capsys.readouterr().err


def test_a_missing_journal_is_one_line(tmp_path, capsys):
    assert main(["paper", "advance", "--journal", str(tmp_path / "none.db")]) == 2
    error = capsys.readouterr().err.strip()
    assert "no such journal; start one with `cryptofolio paper start`" in error
    assert len(error.splitlines()) == 1


def test_a_trained_run_is_followed_on_its_own_assets(tiny_runs, tmp_path, capsys):
    holdings = tmp_path / "h.json"
    holdings.write_text(json.dumps({"USDC": 1000}))
    journal = tmp_path / "run.db"
    start = [
        "paper",
        "start",
        "--journal",
        str(journal),
        "--policy",
        str(tiny_runs[0]),
        "--holdings",
        str(holdings),
    ]
    assert main([*start, "--as-of", "2024-12-01"]) == 0
    assert main(["paper", "advance", "--journal", str(journal)]) == 0
    assert "recorded 28 bar(s)" in capsys.readouterr().out
    assert main(["paper", "status", "--journal", str(journal)]) == 0
    assert "moderate" in capsys.readouterr().out
    recorded = paper.read(journal)
    assert recorded.policy == str(tiny_runs[0].resolve()) and len(recorded.symbols) == 10
