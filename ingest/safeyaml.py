"""YAML loading with limits, for declaration files (sources, news) that anyone may edit or send.

``yaml.safe_load`` builds no objects, but it still follows aliases: a few
lines of nested anchors ("billion laughs") expand to billions of nodes, and a
deeply nested document overflows the parser's recursion. Both are refused
here with a named error before any value is built. So is a key given twice
in one mapping, which YAML would otherwise settle silently (the last wins).

libyaml's parser is used where PyYAML has it: the same documents and the
same safe constructors, about ten times faster than the pure-Python parser
(a thousand declarations: 6 s), and it refuses nesting past 1,000 levels
itself, so the depth is measured on the composed nodes. With either parser,
nesting reached through an alias counts, and an alias inside its own anchor
(a node that contains itself) is refused as nested too deep.
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


class _UniqueKeys:
    """Mappings that give a key once (mixed into a loader before its constructor)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
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
        return super().construct_mapping(node, deep)  # type: ignore[misc, no-any-return]


class _BoundedLoader(_UniqueKeys, yaml.SafeLoader):
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


_CSafeLoader = getattr(yaml, "CSafeLoader", None)
if _CSafeLoader is not None:
    class _FastLoader(_UniqueKeys, _CSafeLoader):  # type: ignore[misc, valid-type]
        pass


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _too_deep(root: Node, max_depth: int) -> Node | None:
    """The first node nested deeper than `max_depth` levels, or None."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    seen: dict[int, int] = {}
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return node
        # A node shared through an alias is walked again only when reached deeper than before.
        if seen.get(id(node), 0) >= depth:
            continue
        seen[id(node)] = depth
        stack.extend((c, depth + 1) for c in reversed(_children(node)))
    return None


_CYCLE = 1 << 30  # the depth of a node that contains itself (an alias to an anchor still open)


def _extent(root: Node, limit: int) -> tuple[int, int]:
    """The document's depth (`_CYCLE` when a node contains itself) and how many nodes it has once every alias
    is expanded, shared nodes counted each time they are reached (past `limit`: `limit` + 1), in one walk of
    the composed nodes, each node once."""
    done: dict[int, tuple[int, int]] = {}
    open_: set[int] = set()
    # Post-order without recursion: a node's figures are known once its children's are.
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            depth, size = 1, 1
            for child in _children(node):
                child_depth, child_size = done[id(child)]
                depth, size = max(depth, child_depth + 1), size + child_size
            done[key] = (min(depth, _CYCLE), min(size, limit + 1))
            open_.discard(key)
            continue
        if key in done:
            continue
        if key in open_:
            # Reached again below itself: only a cycle does that (a node shared by two parents is done before
            # its second parent's turn).
            return _CYCLE, 0
        children = _children(node)
        if not children:
            done[key] = (1, 1)
            continue
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in done)
    return done[id(root)]


def load_bounded(text: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                 max_nodes: int = MAX_NODES) -> Any:
    """The YAML document in ``text`` as plain Python values, within the given limits.

    Raises ``YamlLimitError`` for a document over the limits and ``yaml.YAMLError``
    for one that is not valid YAML.
    """
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise YamlLimitError(f"{size} bytes, more than the {max_bytes} allowed")
    fast = _CSafeLoader is not None
    loader = _FastLoader(text) if fast else _BoundedLoader(text, max_depth)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            if fast and "maximum nesting depth" in str(exc.problem):
                line = exc.problem_mark.line + 1 if exc.problem_mark is not None else "?"
                raise YamlLimitError(f"nested deeper than {max_depth} levels (line {line})") from None
            raise
        if root is None:
            return None
        depth, expanded = _extent(root, max_nodes)
        if depth > max_depth:
            # Walked again to name the first node too deep (or on a cycle), as the message says where.
            deep = _too_deep(root, max_depth)
            line = deep.start_mark.line + 1 if deep is not None else "?"
            raise YamlLimitError(f"nested deeper than {max_depth} levels (line {line})")
        if expanded > max_nodes:
            raise YamlLimitError(f"expands to more than {max_nodes} values through aliases (an alias bomb?)")
        return loader.construct_document(root)
    finally:
        loader.dispose()
