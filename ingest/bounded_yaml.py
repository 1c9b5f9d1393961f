"""YAML for declarations, within bounds: no aliases, limited depth, size and node count.

``yaml.safe_load`` builds no objects of arbitrary types, but it still
expands aliases (a few lines can stand for billions of nodes once walked)
and recurses once per nesting level. Declarations need neither aliases nor
deep nesting, so both are refused with an error naming the line.
"""

from __future__ import annotations

from typing import Any

import yaml

from analysis.errors import UserInputError

MAX_BYTES = 2_000_000
MAX_DEPTH = 24
MAX_NODES = 200_000


class YamlLimitError(UserInputError):
    """The document is refused before it is built."""


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise YamlLimitError(f"line {mark.line + 1}: YAML aliases (*name) are not allowed in declarations")
        mark = self.peek_event().start_mark
        self._depth += 1
        self._nodes += 1
        if self._depth > MAX_DEPTH:
            raise YamlLimitError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
        if self._nodes > MAX_NODES:
            raise YamlLimitError(f"line {mark.line + 1}: more than {MAX_NODES} values")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_bounded(text: str) -> Any:
    """The YAML document in ``text``; ``YamlLimitError`` past the bounds, ``yaml.YAMLError`` when malformed."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise YamlLimitError(f"larger than {MAX_BYTES} bytes")
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
