"""The floors of the house (../shared/ARCHITECTURE.md): each imports only the floors below it."""

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).parents[1]
FLOORS = ("configs", "envs", "agents", "evaluation", "training")
"""The library's floors, bottom first; the command line (``cli/``) stands on all of them."""


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def floor_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "cryptofolio" and len(parts) > 1 and parts[1] in FLOORS else None


@pytest.mark.parametrize("floor", FLOORS)
def test_a_floor_imports_only_the_floors_below_it(floor):
    allowed = set(FLOORS[: FLOORS.index(floor) + 1])
    for path in sorted((PROJECT / floor).glob("*.py")):
        above = {m for m in imported_modules(path) if floor_of(m) not in (None, *allowed)}
        assert not above, f"{path.relative_to(PROJECT)} imports {sorted(above)}"


@pytest.mark.parametrize("floor", FLOORS)
def test_argument_parsing_lives_in_the_command_line_only(floor):
    for path in sorted((PROJECT / floor).glob("*.py")):
        assert "argparse" not in imported_modules(path), f"{path.relative_to(PROJECT)} parses arguments"
