"""How every command ends: a user's mistake in one line (exit code 2), a bug with its traceback (exit 1).

The library raises a :class:`~cryptofolio.envs.errors.UserError` (``DataError``,
``ConfigError``, ``RunFolderError``, ...) with a message that names the file, row, key or
argument at fault, and ``OSError`` for what the machine refuses (a missing file, a full disk);
a command prints either as ``cryptofolio <command>: error: <message>``, the way argparse
reports a bad option. Anything else is the project's own bug: it keeps its traceback, followed
by one line saying so.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence

from cryptofolio.envs.errors import UserError

USER_ERRORS: tuple[type[Exception], ...] = (UserError, OSError)
"""What the library raises for bad input, and what the machine refuses (a missing file, a full disk)."""

BUG_EXIT_CODE = 1
"""Exit code of a command that stopped on a bug (argparse and user errors exit with 2)."""


def one_line(error: BaseException) -> str:
    """The error's message on one line (an ``OSError``'s as ``file: reason`` without its number)."""
    text = str(error)
    if isinstance(error, OSError) and error.strerror:
        text = f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def run_command(
    parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int], argv: Sequence[str] | None
) -> int:
    """Parse ``argv`` and call ``run``: a user error becomes one line on stderr and exit code 2; any
    other exception is a bug, shown with its traceback and a line saying so, and exit code 1."""
    args = parser.parse_args(argv)
    try:
        return run(args)
    except USER_ERRORS as error:
        print(f"{parser.prog}: error: {one_line(error)}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print(
            f"{parser.prog}: this is a bug in cryptofolio, not in what you gave it; "
            "please report it with the command and this traceback",
            file=sys.stderr,
        )
        return BUG_EXIT_CODE
