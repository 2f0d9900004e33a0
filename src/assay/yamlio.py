"""YAML reading for every package: safe loading through libyaml, with limits on what a document may cost.

libyaml's parser gives the same values and the same line/column marks as PyYAML's pure-Python one,
about ten times faster; the built-in suites, the catalog, attack folders and the manifest are all read
through here.

Why limits: YAML aliases let a few hundred bytes stand for billions of values (`b: [*a, *a, …]` nested
a few levels), and code that walks the result (position maps, validation, JSON dumps) then expands every
alias. The composer below counts, while it builds the node graph, how many nodes each anchor stands for,
so an alias that would blow the budget is refused at its own line before anything walks the document.
It also caps nesting depth (Python recursion in the constructor and in our own walkers), node count and
size, and refuses an alias inside the node it names (a cycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

try:  # libyaml's parser when PyYAML was built with it; the composer stays in Python so it can count
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml.parser import Parser as _Parser  # type: ignore[assignment]
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str | bytes) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


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


class _LimitedComposer(Composer):
    """PyYAML's composer, plus a running count of nodes, depth and alias expansion."""

    def _init_limits(self, limits: YamlLimits, file: str) -> None:
        self._limits = limits
        self._file = file
        self._counts: list[int] = [0]  # nodes (expanded) inside each open collection
        self._sizes: dict[str, int] = {}  # anchor -> nodes it stands for, once it is closed
        self._nodes = 0
        self._aliased = 0

    def _refuse(self, message: str, mark: yaml.Mark | None) -> YamlLimitError:
        return YamlLimitError(message, mark, self._file)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        limits = self._limits
        if self.check_event(AliasEvent):
            event = self.peek_event()
            if event.anchor in self.anchors:
                size = self._sizes.get(event.anchor)
                if size is None:
                    raise self._refuse(
                        f"alias *{event.anchor} is used inside the node it names (a cycle)",
                        event.start_mark,
                    )
                self._aliased += size
                if self._aliased > limits.max_alias_nodes:
                    raise self._refuse(
                        f"aliases expand to more than {limits.max_alias_nodes:,} nodes "
                        f"(*{event.anchor} alone stands for {size:,}); write the values out or use fewer "
                        "nested aliases",
                        event.start_mark,
                    )
                self._counts[-1] += size
            return super().compose_node(parent, index)  # undefined aliases fail there, with their mark
        event = self.peek_event()
        self._nodes += 1
        if self._nodes > limits.max_nodes:
            raise self._refuse(f"more than {limits.max_nodes:,} nodes", event.start_mark)
        if len(self._counts) > limits.max_depth:
            raise self._refuse(f"nested deeper than {limits.max_depth} levels", event.start_mark)
        self._counts.append(0)
        node = super().compose_node(parent, index)
        size = self._counts.pop() + 1
        self._counts[-1] += size
        if event.anchor is not None:
            self._sizes[event.anchor] = size
        return node


class LimitedSafeLoader(_LimitedComposer, _Parser, SafeConstructor, Resolver):  # type: ignore[misc]
    """A safe loader (YAML's own tags only) whose composer enforces `YamlLimits`."""

    def __init__(
        self, stream: str | bytes, limits: YamlLimits = DEFAULT_LIMITS, file: str = "<yaml>"
    ) -> None:
        _Parser.__init__(self, stream)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        Composer.__init__(self)
        self._init_limits(limits, file)


def _check_size(text: str | bytes, limits: YamlLimits, file: str) -> None:
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > limits.max_bytes:
        raise YamlLimitError(f"larger than {limits.max_bytes // MiB or 1} MiB", None, file)


def compose(
    text: str | bytes, *, file: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS
) -> yaml.Node | None:
    """The node graph of one document (positions kept), within `limits`."""
    _check_size(text, limits, file)
    loader = LimitedSafeLoader(text, limits, file)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def safe_load(text: str | bytes, *, file: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """One YAML document as plain Python values (no tags beyond YAML's own), within `limits`."""
    _check_size(text, limits, file)
    loader = LimitedSafeLoader(text, limits, file)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def safe_load_all(
    text: str | bytes, *, file: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS
) -> list[Any]:
    """Every document of a multi-document YAML stream; the limits count the whole stream."""
    _check_size(text, limits, file)
    loader = LimitedSafeLoader(text, limits, file)
    try:
        out = []
        while loader.check_data():
            out.append(loader.get_data())
        return out
    finally:
        loader.dispose()


def read_yaml_text(path: str | Path, limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """A YAML file's text, refusing a file over the size limit before reading it."""
    p = Path(path)
    if p.stat().st_size > limits.max_bytes:
        raise YamlLimitError(f"larger than {limits.max_bytes // MiB or 1} MiB", None, str(p))
    return p.read_text(encoding="utf-8")
