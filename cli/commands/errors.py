"""How every command ends on a user's mistake: one line on stderr naming what is wrong, exit code 2.

The library raises ``ValueError`` (``DataError`` is one) or ``KeyError`` with a message that
names the file, row, key or argument at fault, and ``OSError`` for what the machine refuses (a
missing file, a full disk); a command prints it as
``cryptofolio <command>: error: <message>``, the way argparse reports a bad option. Anything
else is the project's own bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

USER_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, OSError)
"""What the library raises for bad input, and what the machine refuses (a missing file, a full disk)."""


def one_line(error: BaseException) -> str:
    """The error's message on one line (a ``KeyError``'s without the quotes ``str`` adds, an
    ``OSError``'s as ``file: reason`` without its number)."""
    text = str(error)
    if isinstance(error, KeyError) and error.args:
        text = str(error.args[0])
    elif isinstance(error, OSError) and error.strerror:
        text = f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def run_command(
    parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int], argv: Sequence[str] | None
) -> int:
    """Parse ``argv`` and call ``run``; a user error becomes one line on stderr and exit code 2."""
    args = parser.parse_args(argv)
    try:
        return run(args)
    except USER_ERRORS as error:
        print(f"{parser.prog}: error: {one_line(error)}", file=sys.stderr)
        return 2
