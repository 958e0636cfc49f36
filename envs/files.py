"""The one reader of a user's small text files: configs, holdings, run and study records.

It reads only a regular file (a FIFO or a device would block or never end), of at most
:data:`MAX_BYTES`, as UTF-8; JSON nested too deeply to parse is the file's fault too. Every
refusal is the caller's :class:`UserError` subclass, naming the file.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptofolio.envs.errors import RunFolderError, UserError

MAX_BYTES = 16 * 1024 * 1024
"""The largest config, holdings or record file read (16 MB): far beyond any real one."""


KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
"""What a path that is not a regular file is, in words (anything else: a device)."""


def check_regular(path: str | Path, error: type[UserError] = UserError, what: str = "file") -> None:
    """Refuse, without opening it, a path that is not a regular file: a FIFO would block a read for
    ever, a device never end; ``what`` it should be (``holdings file``) names it when it is missing.

    :raises error: naming the path and what it is (missing, a link to a missing file, a folder, ...).
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        missing = "a link to a missing file" if path.is_symlink() else f"no such {what}"
        raise error(f"{path}: {missing}") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in KINDS if test(mode)), "a device")
        raise error(f"{path}: {kind}, not a regular file")


def read_text(path: str | Path, error: type[UserError] = UserError, what: str = "file") -> str:
    """The text of the regular file ``path`` (UTF-8, a byte-order mark dropped); ``what`` it should be
    (``holdings file``) names it when it is missing.

    :raises error: naming the file if it is missing, not a regular file, larger than
        :data:`MAX_BYTES`, unreadable or not UTF-8 text.
    """
    path = Path(path)
    check_regular(path, error, what)
    try:
        # O_NONBLOCK: should the path become a FIFO meanwhile, opening it does not wait for a writer
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise error(f"{path}: not a regular file")
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise error(f"{path}: larger than {MAX_BYTES // 2**20} MB, the most a file of this kind may be")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None


def parse_json(
    text: str,
    path: str | Path,
    error: type[UserError] = UserError,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """``text`` (the content of ``path``) as JSON.

    :raises error: naming the file (and line) if it is not JSON or is nested too deeply to read.
    """
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        raise error(f"{path} line {exc.lineno}: not valid JSON: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise error(f"{path}: JSON nested too deeply to read") from None


def read_json(path: str | Path, error: type[UserError] = UserError) -> Any:
    """The JSON document in the file ``path`` (see :func:`read_text` and :func:`parse_json`)."""
    return parse_json(read_text(path, error), path, error)


def read_json_object(path: str | Path, error: type[UserError] = RunFolderError) -> dict[str, Any]:
    """The JSON object in the file ``path``; ``error`` naming the file if it holds anything else."""
    data = read_json(path, error)
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data
