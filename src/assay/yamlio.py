"""YAML reading for every package: safe loading through libyaml, with limits on what a document may cost.

libyaml's parser gives the same values and the same line/column marks as PyYAML's pure-Python one,
about ten times faster; the built-in suites, the catalog, attack folders and the manifest are all read
through here.

Why limits: YAML aliases let a few hundred bytes stand for billions of values (`b: [*a, *a, …]` nested
a few levels). Composing such a document is cheap — an alias is the same node object again — but
anything that walks the result (position maps, validation, JSON dumps) expands every alias. So between
composing and constructing, `check_graph` walks the node graph once, visiting each distinct node once,
and works out how many nodes the aliases add when expanded; over the budget, it stops with the file and
the line of the collection whose aliases passed it. It also caps nesting depth (Python recursion in the
constructor and in our own walkers), node count and size, and refuses an alias inside the node it names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MiB = 1024 * 1024


@dataclass(frozen=True)
class YamlLimits:
    """What one YAML stream may cost. Defaults suit every file Assay reads; callers lower `max_bytes`."""

    max_bytes: int = 20 * MiB
    max_depth: int = 64  # collections inside collections; real files use under 12
    max_nodes: int = 2_000_000  # scalars and collections as written, before alias expansion
    max_alias_nodes: int = 10_000  # nodes that aliases add when expanded (merge keys, shared lists)


DEFAULT_LIMITS = YamlLimits()


class YamlLimitError(yaml.MarkedYAMLError):
    """A document over a limit. A MarkedYAMLError, so every `except yaml.YAMLError` and every reader
    that turns a mark into file:line handles it as it handles a syntax error."""

    def __init__(self, message: str, mark: yaml.Mark | None, file: str) -> None:
        super().__init__(problem=message, problem_mark=mark)
        self.file = file
        self.message = message

    @property
    def line(self) -> int | None:
        return self.problem_mark.line + 1 if self.problem_mark else None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        return f"{where}: {self.message}"


@dataclass
class _Budget:
    """Counts carried across the documents of one stream."""

    limits: YamlLimits
    file: str
    nodes: int = 0
    aliased: int = 0


def _children(node: Node) -> list[Node]:
    if node.__class__ is MappingNode:
        return [part for pair in node.value for part in pair]
    return node.value  # a SequenceNode's items


def check_graph(root: Node, budget: _Budget) -> None:
    """Walk a composed document depth-first in document order, each distinct collection once and without
    recursion, and enforce the limits. A collection met again after it is finished is an alias: it adds
    its whole expanded size to the budget (a scalar alias adds one node, so it cannot blow up)."""
    limits = budget.limits
    budget.nodes += 1
    if root.__class__ is ScalarNode:
        return
    sizes: dict[int, int] = {}  # id -> nodes the finished collection stands for, aliases expanded
    on_path = {id(root)}
    stack: list[tuple[Node, Iterator[Node], list[int]]] = [(root, iter(_children(root)), [1])]
    while stack:
        node, children, size = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            on_path.discard(id(node))
            sizes[id(node)] = size[0]
            if stack:
                stack[-1][2][0] += size[0]
            continue
        budget.nodes += 1
        if budget.nodes > limits.max_nodes:
            raise YamlLimitError(f"more than {limits.max_nodes:,} nodes", child.start_mark, budget.file)
        if child.__class__ is ScalarNode:
            size[0] += 1
            continue
        key = id(child)
        expanded = sizes.get(key)
        if expanded is not None:
            budget.aliased += expanded
            size[0] += expanded
            if budget.aliased > limits.max_alias_nodes:
                raise YamlLimitError(
                    f"aliases expand to more than {limits.max_alias_nodes:,} nodes (this one alone stands "
                    f"for {expanded:,}); write the values out or nest fewer aliases",
                    node.start_mark,  # the alias's own mark is not kept: its collection's is
                    budget.file,
                )
            continue
        if key in on_path:
            raise YamlLimitError(
                "an alias is used inside the node it names (a cycle)", node.start_mark, budget.file
            )
        if len(stack) >= limits.max_depth:
            raise YamlLimitError(
                f"nested deeper than {limits.max_depth} levels", child.start_mark, budget.file
            )
        on_path.add(key)
        stack.append((child, iter(_children(child)), [1]))


def _check_size(text: str | bytes, limits: YamlLimits, file: str) -> None:
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > limits.max_bytes:
        raise YamlLimitError(f"larger than {limits.max_bytes // MiB or 1} MiB", None, file)


def _documents(text: str | bytes, file: str, limits: YamlLimits, construct: bool, single: bool) -> list[Any]:
    _check_size(text, limits, file)
    loader = SAFE_LOADER(text)
    budget = _Budget(limits, file)
    try:
        if single:
            node = loader.get_single_node()
            nodes = [] if node is None else [node]
        else:
            nodes = []
            while loader.check_node():
                nodes.append(loader.get_node())
        out: list[Any] = []
        for node in nodes:
            check_graph(node, budget)
            out.append(loader.construct_document(node) if construct else node)
        return out
    finally:
        loader.dispose()


def compose(text: str | bytes, *, file: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS) -> Node | None:
    """The node graph of one document (positions kept), within `limits`."""
    nodes = _documents(text, file, limits, construct=False, single=True)
    return nodes[0] if nodes else None


def safe_load(text: str | bytes, *, file: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """One YAML document as plain Python values (no tags beyond YAML's own), within `limits`."""
    values = _documents(text, file, limits, construct=True, single=True)
    return values[0] if values else None


def safe_load_all(
    text: str | bytes, *, file: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS
) -> list[Any]:
    """Every document of a multi-document YAML stream; the limits count the whole stream."""
    return _documents(text, file, limits, construct=True, single=False)


def read_yaml_text(path: str | Path, limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """A YAML file's text, refusing a file over the size limit before reading it."""
    p = Path(path)
    if p.stat().st_size > limits.max_bytes:
        raise YamlLimitError(f"larger than {limits.max_bytes // MiB or 1} MiB", None, str(p))
    return p.read_text(encoding="utf-8")
