"""Classes of fault the hostile-input script (tools/hostile_inputs.py) found in what commands write and
the numbers and names they take: one line, exit code 2, nothing outside the output written."""

import json

import pytest

from cryptofolio.agents import make_baseline
from cryptofolio.cli import main
from cryptofolio.commands import (
    ablation,
    backtest,
    data,
    demo,
    evaluate,
    paper,
    recommend,
    study,
    sweep,
    train,
    tune,
    walkforward,
)
from cryptofolio.envs import PortfolioEnv
from cryptofolio.envs.errors import ConfigError
from cryptofolio.evaluation.backtest import run_backtest
from tests.helpers import refused

EVALUATE = ["evaluate", "--baselines", "cash", "--resamples", "400"]


def parse_refused(command, argv, capsys, *named):
    """argparse's own refusal of ``argv`` (exit code 2, the error on its last line), before any work."""
    with pytest.raises(SystemExit) as exit_info:
        command.build_parser().parse_args(argv)
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_info.value.code == 2, error
    for text in named:
        assert text in error, error


def linked_out(tmp_path, name):
    """``out/<name>``, a link to the user's ``precious.txt`` beside ``out``."""
    (tmp_path / "precious.txt").write_text("mine\n")
    (tmp_path / "out" / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "out" / name).symlink_to(tmp_path / "precious.txt")
    return tmp_path / "out"


def a_run(tmp_path):
    """A folder that is a trained run's, as far as writing goes: it holds config.yaml and metadata.json."""
    run = tmp_path / "run"
    (run / "best").mkdir(parents=True)
    (run / "metadata.json").write_text("{}")
    (run / "config.yaml").write_text("algo: direct\n")
    return run


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["backtest", "--policies", "cash"], "metrics.csv"),
        (["backtest", "--policies", "cash"], "results/cash.csv"),
        (EVALUATE, "report.md"),
        (EVALUATE, "equity.png"),
    ],
)
def test_an_output_folder_holding_a_link_out_is_refused(tmp_path, argv, name, capsys):
    out = linked_out(tmp_path, name)
    refused([*argv, "--out", str(out)], capsys, "--out", name, "is a link")
    assert (tmp_path / "precious.txt").read_text() == "mine\n"


@pytest.mark.parametrize("link", ["out", "out/results"])
def test_an_output_folder_that_is_or_holds_a_link_to_a_folder_is_refused(tmp_path, link, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "cash.csv").write_text("mine\n")
    (tmp_path / link).parent.mkdir(exist_ok=True)
    (tmp_path / link).symlink_to(tmp_path / "mine")
    refused(["backtest", "--policies", "cash", "--out", str(tmp_path / "out")], capsys, link, "is a link")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["cash.csv"]
    assert (tmp_path / "mine" / "cash.csv").read_text() == "mine\n"


def test_a_result_is_not_saved_through_a_link(tmp_path, default_market):
    market, splits = default_market
    result = run_backtest(make_baseline("cash"), PortfolioEnv(market, split="test", splits=splits))
    out = linked_out(tmp_path, "cash.json")
    with pytest.raises(ConfigError, match=r"cash\.json is a link"):
        result.save(out / "cash.csv")
    assert (tmp_path / "precious.txt").read_text() == "mine\n" and not (out / "cash.csv").exists()


def test_orders_are_not_written_through_a_link(tmp_path, capsys):
    (tmp_path / "h.csv").write_text("symbol,quantity\nBTC,0.1\nUSDC,5000\n")
    out = linked_out(tmp_path, "o.csv")
    argv = ["recommend", "--policy", "moderate", "--holdings", str(tmp_path / "h.csv")]
    refused([*argv, "--orders", str(out / "o.csv")], capsys, "--orders", "o.csv", "is a link")
    assert (tmp_path / "precious.txt").read_text() == "mine\n"


@pytest.mark.parametrize(("figure", "named"), [("out", "a folder"), ("out/f.txt", "cannot write .txt")])
def test_a_status_figure_that_is_a_folder_or_of_no_image_format_is_refused(tmp_path, figure, named, capsys):
    (tmp_path / "h.json").write_text(json.dumps({"BTC": 0.1, "USDC": 5000}))
    journal = str(tmp_path / "j.db")
    start = [
        "paper",
        "start",
        "--journal",
        journal,
        "--policy",
        "moderate",
        "--holdings",
        str(tmp_path / "h.json"),
    ]
    assert main([*start, "--as-of", "2024-11-01"]) == 0
    (tmp_path / "out").mkdir()
    refused(
        ["paper", "status", "--journal", journal, "--figure", str(tmp_path / figure)],
        capsys,
        "--figure",
        named,
    )
    assert not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    ("argv", "out"),
    [
        (["backtest", "--policies", "cash"], "run/best/report"),
        (["backtest", "--policies", "cash"], "run"),
        (EVALUATE, "run"),
    ],
)
def test_an_output_folder_in_a_run_folder_is_refused(tmp_path, argv, out, capsys):
    run = a_run(tmp_path)
    refused([*argv, "--out", str(tmp_path / out)], capsys, "--out", "trained run folder")
    assert sorted(p.name for p in run.rglob("*")) == ["best", "config.yaml", "metadata.json"]


def test_tune_does_not_export_into_a_run_folder(tmp_path, capsys):
    run = a_run(tmp_path)
    argv = ["tune", "--algo", "direct", "--trials", "0", "--storage", f"sqlite:///{tmp_path / 's.db'}"]
    refused([*argv, "--out", str(tmp_path / "out"), "--export", str(run / "config.yaml")], capsys, "--export")
    assert (run / "config.yaml").read_text() == "algo: direct\n" and not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        (backtest, ["--out", ""]),
        (evaluate, ["--out", ""]),
        (recommend, ["--orders", ""]),
        (paper, ["status", "--figure", ""]),
        (tune, ["--algo", "direct", "--export", " "]),
        (sweep, ["--algo", "direct", "--seeds", "0", "--out", ""]),
        (walkforward, ["--algo", "direct", "--checkpoints", ""]),
        (study, ["--root", ""]),
        (ablation, ["--out", ""]),
        (demo, ["--out", ""]),
        (train, ["--algo", "direct", "--out", ""]),
        (data, ["fetch", "--out", ""]),
    ],
)
def test_an_empty_output_path_is_refused(command, argv, capsys):
    parse_refused(command, argv, capsys, "an empty path")


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "a\\b", ".hidden", "", "a\nb", "x" * 101])
@pytest.mark.parametrize(
    ("command", "argv"),
    [(tune, ["--algo", "direct"]), (sweep, ["--algo", "direct", "--seeds", "0"]), (study, [])],
)
def test_a_study_name_must_be_a_plain_name(command, argv, name, capsys):
    parse_refused(command, [*argv, "--study", name], capsys, "--study", "not a plain name")


def test_a_plain_study_name_is_taken(capsys):
    args = sweep.build_parser().parse_args(
        ["--algo", "direct", "--seeds", "0-9", "--study", "ppo-moderate_2.b"]
    )
    assert args.study == "ppo-moderate_2.b" and args.seeds == "0-9"


@pytest.mark.parametrize(
    ("seeds", "named"),
    [
        ("0-1000000", "more than 1,000 seeds"),
        ("0-99999999999", "from 0 to 4,294,967,295"),
        (str(2**40), "from 0 to 4,294,967,295"),
        ("0-500,600-1200", "more than 1,000 seeds"),
    ],
)
@pytest.mark.parametrize(
    ("command", "argv"), [(sweep, ["--algo", "direct"]), (study, []), (walkforward, ["--algo", "direct"])]
)
def test_seeds_are_bounded_before_they_are_expanded(command, argv, seeds, named, capsys):
    parse_refused(command, [*argv, "--seeds", seeds], capsys, "--seeds", named)


@pytest.mark.parametrize(
    ("command", "argv", "named"),
    [
        (evaluate, ["--resamples", str(10**12)], "above 100,000"),
        (study, ["--timesteps", f"ppo={10**12}"], "above 1,000,000,000 steps"),
        (walkforward, ["--algo", "direct", "--timesteps", str(10**12)], "above 1,000,000,000"),
        (study, ["--algos", "ppo,sac,ppo"], "gives ppo twice"),
        (study, ["--profiles", "moderate, moderate"], "gives moderate twice"),
    ],
)
def test_a_count_or_list_that_would_run_for_ever_or_twice_is_refused(command, argv, named, capsys):
    parse_refused(command, argv, capsys, argv[-2], named)


@pytest.mark.parametrize(
    "argv",
    [
        ["backtest", "--policies", "moderate,cash,moderate"],
        [*EVALUATE[:2], "moderate,moderate", *EVALUATE[3:]],
    ],
)
def test_a_policy_named_twice_is_refused(tmp_path, argv, capsys):
    refused([*argv, "--out", str(tmp_path / "out")], capsys, "moderate", "twice")
    assert not (tmp_path / "out").exists()


def test_compare_with_must_name_a_baseline_even_without_policies(tmp_path, capsys):
    refused(
        [*EVALUATE, "--compare-with", "nothing", "--out", str(tmp_path / "out")],
        capsys,
        "--compare-with",
        "nothing",
    )
    assert not (tmp_path / "out").exists()


def test_a_run_folder_is_known_by_the_files_every_run_folder_holds(tmp_path, capsys):
    from cryptofolio.agents.sb3 import CONFIG, METADATA
    from cryptofolio.envs.outputs import RUN_MARKERS

    assert set(RUN_MARKERS) == {CONFIG, METADATA}
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "metadata.json").write_text("{}")  # a folder of other work, not a run
    assert main(["backtest", "--policies", "cash", "--out", str(tmp_path / "project" / "out")]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        [
            "study",
            "--quick",
            "--report-only",
            "--market",
            "/no/such/data",
            "--storage",
            "sqlite:///{tmp}/s.db",
        ],
        ["ablation", "--quick", "--market", "/no/such/data"],
    ],
    ids=["study", "ablation"],
)
def test_a_report_folder_holding_a_link_is_refused_before_any_training(tmp_path, argv, capsys):
    linked_out(tmp_path, "results.md")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    refused([*argv, "--out", str(tmp_path / "out")], capsys, "--out", "is a link to")
    assert (tmp_path / "precious.txt").read_text() == "mine\n" and not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(("command", "argv"), [(recommend, ["--holdings", "h.csv"]), (paper, ["start"])])
def test_an_empty_policy_is_refused_not_read_as_the_current_folder(command, argv, capsys):
    parse_refused(command, [*argv, "--policy", ""], capsys, "--policy", "empty")


def test_a_market_seed_for_a_market_read_from_files_is_refused(tmp_path, capsys):
    linked_out(tmp_path, "x")  # any folder: the seed is refused before the market is read
    argv = ["backtest", "--policies", "cash", "--market", str(tmp_path / "out"), "--market-seed", "5"]
    refused([*argv, "--out", str(tmp_path / "report")], capsys, "--market-seed 5 seeds the synthetic market")
