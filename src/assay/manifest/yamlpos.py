"""YAML loading that remembers where every value stood, so errors can name a line and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from assay.manifest.problems import Problem
from assay.yamlio import DEFAULT_LIMITS, YamlLimitError, YamlLimits, compose

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class LocatedYaml:
    """The plain Python value of a YAML document plus a map from key path to position."""

    value: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    key_positions: dict[Path, Position] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path, Position]] = field(default_factory=list)

    def locate(self, path: Path) -> Position | None:
        """Position of the value at `path`, or of its nearest located ancestor."""
        p = tuple(path)
        while True:
            if p in self.key_positions:
                return self.key_positions[p]
            if p in self.positions:
                return self.positions[p]
            if not p:
                return None
            p = p[:-1]


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, position: Position | None, expected: str = "valid YAML") -> None:
        super().__init__(message)
        self.position = position
        self.expected = expected

    def as_problem(self, file: str) -> Problem:
        """The error as the Problem every YAML reader reports (file, line, column)."""
        pos = self.position
        return Problem(
            file=file,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
            field="(document)",
            message=str(self),
            expected=self.expected,
        )


def _pos(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def load_located(text: str, *, file: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS) -> LocatedYaml:
    """Parse one YAML document safely and within `limits`, returning values and positions.

    The limits are checked on the composed graph first, so the walk below (which expands every alias
    into its own paths) never sees a document that would cost more than they allow."""
    try:
        root = compose(text, file=file, limits=limits)  # libyaml's parser keeps the same marks
    except YamlLimitError as exc:
        mark = exc.problem_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else None
        raise YamlSyntaxError(
            f"YAML limit: {exc.message}", pos, expected="a document within the limits"
        ) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else None
        raise YamlSyntaxError(f"YAML syntax: {exc.problem or exc}", pos) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML syntax: {exc}", None) from exc
    out = LocatedYaml(value=None)
    if root is None:
        return out
    constructor = yaml.SafeLoader("")

    def build(node: yaml.Node, path: Path) -> Any:
        out.positions[path] = _pos(node)
        if isinstance(node, yaml.MappingNode):
            constructor.flatten_mapping(node)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool):
                    key = str(key)
                child = (*path, key)
                if key in result:
                    out.duplicate_keys.append((child, _pos(key_node)))
                out.key_positions[child] = _pos(key_node)
                result[key] = build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    try:
        out.value = build(root, ())
    except yaml.MarkedYAMLError as exc:  # e.g. a list as a mapping key, a bad merge key
        mark = exc.problem_mark or exc.context_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else None
        context = f"{exc.context}: " if exc.context else ""
        raise YamlSyntaxError(f"YAML: {context}{exc.problem or exc}", pos) from exc
    return out
