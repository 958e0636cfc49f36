"""A user's mistake ends in one line and exit code 2; a bug keeps its traceback, says so and exits with 1."""

import inspect

import pytest

import cryptofolio.commands.backtest
from cryptofolio.cli import main
from cryptofolio.envs import errors
from cryptofolio.envs.errors import ConfigError, UserError

FAMILY = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if cls.__module__ == errors.__name__]


@pytest.mark.parametrize("cls", FAMILY, ids=lambda cls: cls.__name__)
def test_every_class_of_the_family_is_a_user_error_and_a_value_error(cls):
    assert issubclass(cls, UserError) and issubclass(cls, ValueError) and cls.__doc__


def test_the_family_is_exported_from_envs():
    import cryptofolio.envs

    assert {cls.__name__ for cls in FAMILY} <= set(cryptofolio.envs.__all__)


def raising(error: Exception):
    def run(args):
        raise error

    return run


def test_a_user_error_is_one_line_and_exit_code_2(monkeypatch, capsys):
    monkeypatch.setattr(cryptofolio.commands.backtest, "run", raising(ConfigError("--fee: must be small")))
    assert main(["backtest"]) == 2
    assert capsys.readouterr().err == "cryptofolio backtest: error: --fee: must be small\n"


def test_a_refused_file_is_one_line_and_exit_code_2(monkeypatch, capsys):
    refused = PermissionError(13, "Permission denied", "/data/BTC.csv")
    monkeypatch.setattr(cryptofolio.commands.backtest, "run", raising(refused))
    assert main(["backtest"]) == 2
    assert capsys.readouterr().err == "cryptofolio backtest: error: /data/BTC.csv: Permission denied\n"


@pytest.mark.parametrize("bug", [ValueError("operands could not be broadcast"), KeyError("close")])
def test_a_bug_shows_its_traceback_and_says_it_is_a_bug_with_exit_code_1(monkeypatch, capsys, bug):
    monkeypatch.setattr(cryptofolio.commands.backtest, "run", raising(bug))
    assert main(["backtest"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert f"{type(bug).__name__}: {bug}" in err
    assert err.endswith(
        "cryptofolio backtest: this is a bug in cryptofolio, not in what you gave it; "
        "please report it with the command and this traceback\n"
    )


def test_a_bad_option_stays_argparses_exit_code_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["backtest", "--no-such-option"])
    assert exit_info.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err
