"""Data files of the project (YAML): risk profiles, asset categories, synthetic-market parameters.

Numbers that are data live here, not in code; :func:`read` is the one place that reads them.
"""

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def read(name: str) -> dict[str, Any]:
    """Parsed content of ``configs/<name>.yaml``. Cached: treat the result as read-only."""
    path = resources.files(__name__) / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no config named {name!r} (looked for {path})")
    with path.open() as f:
        return yaml.safe_load(f)
