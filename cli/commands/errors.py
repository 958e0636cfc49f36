"""How every command ends on a user's mistake: one line on stderr naming what is wrong, exit code 2.

The library raises ``ValueError`` (``DataError`` is one), ``KeyError`` or ``FileNotFoundError``
with a message that names the file, row, key or argument at fault; a command prints it as
``cryptofolio <command>: error: <message>``, the way argparse reports a bad option. Anything
else is the project's own bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

USER_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, FileNotFoundError)
"""What the library raises for bad input."""


def one_line(error: BaseException) -> str:
    """The error's message on one line (a ``KeyError``'s without the quotes ``str`` adds)."""
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
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
