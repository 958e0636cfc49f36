"""Data files of the project (YAML): risk profiles, asset categories, synthetic-market parameters.

Numbers that are data live here, not in code; :func:`read` is the one place that reads them, and
:func:`load` reads every YAML document the project takes (its own files, a user's config files,
run folders) with one strict reader (:class:`StrictLoader`).
"""

import re
from collections.abc import Hashable
from functools import cache
from importlib import resources
from typing import IO, Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stricter where a config could be read two ways.

    - A key given twice in one mapping is an error (PyYAML keeps the last silently).
    - Anchors and aliases are refused: nothing in a config needs them, and an alias of an alias
      expands a small file into a huge structure.
    - A key that is a list or a mapping is an error (PyYAML fails with a ``TypeError``).
    - Numbers in exponent form without a point (``1e-3``, ``3E5``) are floats, as YAML 1.2 and
      the command line read them (YAML 1.1 reads them as strings).
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ComposerError(
                None, None, f"an alias (*{event.anchor}): anchors are not read", event.start_mark
            )
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise ComposerError(
                None, None, f"an anchor (&{event.anchor}): anchors are not read", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, Hashable):
                    problem = f"a key that is a {type(key).__name__}: keys are names or numbers"
                    raise ConstructorError(None, None, problem, key_node.start_mark)
                if isinstance(key, str | int | float | bool) and key in seen:
                    raise ConstructorError(None, None, f"key {key!r} given twice", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"), list("-+0123456789")
)


MAX_CHARS = 16 * 1024 * 1024
"""The longest YAML document read (16 MB, as ``envs.files.MAX_BYTES``): a longer one stalls the parser."""


def load(stream: str | IO[str]) -> Any:
    """One YAML document, read by :class:`StrictLoader` (``yaml.YAMLError`` with its line on a fault,
    a value Python cannot hold, such as a 5,000-digit integer, nesting too deep to read and a document
    longer than :data:`MAX_CHARS` included)."""
    text = stream if isinstance(stream, str) else stream.read(MAX_CHARS + 1)
    if len(text) > MAX_CHARS:
        problem = f"longer than {MAX_CHARS // 2**20} MB, the most a YAML document may be"
        raise ConstructorError(None, None, problem, None)
    try:
        return yaml.load(text, Loader=StrictLoader)  # a safe loader: it builds plain data only
    except UnicodeDecodeError:  # not text: the caller names the file so
        raise
    except (ValueError, OverflowError) as error:  # a scalar the constructors cannot convert
        problem = f"a value cannot be read: {str(error)[:100]}"
        raise ConstructorError(None, None, problem, None) from None
    except (RecursionError, MemoryError):  # lists or mappings nested thousands deep
        raise ConstructorError(None, None, "nested too deeply to read", None) from None


@cache
def read(name: str) -> dict[str, Any]:
    """Parsed content of ``configs/<name>.yaml``. Cached: treat the result as read-only."""
    path = resources.files(__name__) / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no config named {name!r} (looked for {path})")
    with path.open() as f:
        document: dict[str, Any] = load(f)
    return document
