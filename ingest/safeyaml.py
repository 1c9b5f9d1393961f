"""YAML loading with limits, for declaration files (sources, news) that anyone may edit or send.

``yaml.safe_load`` builds no objects, but it still follows aliases: a few
lines of nested anchors ("billion laughs") expand to billions of nodes, and a
deeply nested document overflows the parser's recursion. Both are refused
here with a named error before any value is built. So is a key given twice
in one mapping, which YAML would otherwise settle silently (the last wins).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from analysis.errors import UserInputError

MAX_BYTES = 2_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000


class YamlLimitError(UserInputError):
    """The document is too large, too deep, expands too far through aliases, or repeats a key."""


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream: str, max_depth: int):
        super().__init__(stream)
        self._depth = 0
        self._max_depth = max_depth

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > self._max_depth:
                mark = self.peek_event().start_mark
                raise YamlLimitError(f"nested deeper than {self._max_depth} levels (line {mark.line + 1})")
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        seen: dict[str, int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            line = key.start_mark.line + 1
            if key.value in seen:
                shown = key.value if len(key.value) <= 60 else key.value[:60] + "…"
                raise YamlLimitError(f"duplicate key {shown!r} on line {line} (first on line {seen[key.value]}): "
                                     "give each key once")
            seen[key.value] = line
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


def _expanded_size(root: Node, limit: int) -> int:
    """Nodes the document has once every alias is expanded, counting shared nodes each time they are reached."""
    sizes: dict[int, int] = {}
    # Post-order without recursion: a node's size is known once its children's are.
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        if children_done or not children:
            total = 1 + sum(sizes.get(id(c), 0) for c in children)
            sizes[id(node)] = min(total, limit + 1)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load_bounded(text: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                 max_nodes: int = MAX_NODES) -> Any:
    """The YAML document in ``text`` as plain Python values, within the given limits.

    Raises ``YamlLimitError`` for a document over the limits and ``yaml.YAMLError``
    for one that is not valid YAML.
    """
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise YamlLimitError(f"{size} bytes, more than the {max_bytes} allowed")
    loader = _BoundedLoader(text, max_depth)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        expanded = _expanded_size(root, max_nodes)
        if expanded > max_nodes:
            raise YamlLimitError(f"expands to more than {max_nodes} values through aliases (an alias bomb?)")
        return loader.construct_document(root)
    finally:
        loader.dispose()
