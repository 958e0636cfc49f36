"""Where a command writes: only inside the output folder or file the user named, never through a link.

Before anything is written, :func:`check_output_folder` refuses a folder that is a link, is not a
folder, holds a link (in it or in a folder of it: a write through it would land outside), or is a
trained run folder or inside one (its files are the run's own); :func:`check_output_file` refuses a
file that is a link, a folder, or in a run folder. Each refusal is a :class:`ConfigError` naming the
option (or what the path is for) and the path.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptofolio.envs.errors import ConfigError

RUN_MARKERS = ("config.yaml", "metadata.json")
"""The files every trained run folder holds (``cryptofolio.agents.sb3``'s ``CONFIG`` and ``METADATA``)."""


def check_output_folder(folder: str | Path, option: str = "output folder") -> Path:
    """``folder``, once checked that writing into it stays inside it; ``option`` names it.

    :raises ConfigError: naming ``option`` and the path that is a link, not a folder, or a run folder.
    """
    folder = Path(folder)
    _refuse_run_folder(folder, option, folder)
    _refuse_link(folder, option, folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{option} {folder}: not a folder")
    entries = [*folder.iterdir()] if folder.is_dir() else []
    entries += [e for d in entries if d.is_dir() and not d.is_symlink() for e in d.iterdir()]
    for entry in entries:
        _refuse_link(entry, option, folder)
    return folder


def check_output_file(path: str | Path, option: str = "output file") -> Path:
    """``path``, once checked that writing it writes that file only; ``option`` names it.

    :raises ConfigError: naming ``option`` and the path that is a link, a folder, or in a run folder.
    """
    path = Path(path)
    _refuse_run_folder(path, option, path.parent)
    _refuse_link(path, option, path)
    if path.is_dir():
        raise ConfigError(f"{option} {path}: a folder; name a file in it")
    return path


def _refuse_link(path: Path, option: str, named: Path) -> None:
    """Refuse ``path`` (``named`` or in it) when it is a symbolic link."""
    if path.is_symlink():
        link = str(named) if path == named else f"{named}: {path}"
        raise ConfigError(
            f"{option} {link} is a link to {os.readlink(path)}; writing would change what it links to: "
            "remove the link or name another path"
        )


def _refuse_run_folder(named: Path, option: str, folder: Path) -> None:
    """Refuse ``named`` when ``folder`` (``named`` or the folder it is in) is or is in a run folder."""
    absolute = folder.resolve()
    for candidate in (absolute, *absolute.parents):
        if all((candidate / marker).is_file() for marker in RUN_MARKERS):
            raise ConfigError(
                f"{option} {named}: in the trained run folder {candidate}, whose files are the run's own; "
                "name a path outside it"
            )
