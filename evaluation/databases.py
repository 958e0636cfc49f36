"""Database URLs as the project opens them: an SQLite file, or a PostgreSQL server for several
machines. Optuna's storage (tuning, sweeps, the study's queue) and the paper-trading journal share
these rules; SQLAlchemy (an Optuna dependency) opens both.
"""

from __future__ import annotations

import importlib.util

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from cryptofolio.envs.errors import StorageError

FORMS = "sqlite:///FILE or postgresql://user:password@host/database"
"""The URLs accepted, as messages name them."""


def database_url(url: str, option: str) -> URL:
    """``url`` parsed; ``postgresql://`` is given the installed driver (SQLAlchemy's default may not be).

    :param option: what named the URL (``--storage``), for messages.
    :raises StorageError: for a URL that is neither SQLite nor PostgreSQL, or PostgreSQL without a driver.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"{option} {url!r}: not a database URL; use {FORMS}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            driver = next((d for d in ("psycopg", "psycopg2") if importlib.util.find_spec(d)), None)
            if driver is None:
                raise StorageError(f"{option}: PostgreSQL needs a driver: pip install -e '.[postgres]'")
            parsed = parsed.set(drivername=f"postgresql+{driver}")
    elif backend != "sqlite":
        raise StorageError(f"{option} {masked(url)!r}: {backend} is not supported; use {FORMS}")
    return parsed


def masked(url: str | URL) -> str:
    """``url`` with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def reason(error: Exception) -> str:
    """The database's own one-line reason (SQLAlchemy wraps it in a page of context)."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
