"""Which of many case-insensitive regular expressions can match a text at all, found cheaply.

The input check runs some sixty phrase patterns on every request, and Python's regex engine tries
each of them at every position of the text: ~50 µs for one ordinary sentence, most of the gateway's
own checking time. Almost every pattern must start with one of a few literal words (`ignore`,
`pretend`, `system`…), so a pattern whose possible starts are all absent from the text cannot match
and need not run. The starts are read from the pattern itself (its parse tree), not written by hand,
so the phrase file stays the only place the wording lives.

Only ASCII text is filtered (there, lower-casing is exactly what IGNORECASE matching does); any other
text runs every pattern, so no Unicode case rule can make the filter skip a pattern that matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from re import _constants as _c  # the parser behind `re` (sre_parse before Python 3.11)
from re import _parser as _p

KEY = 3  # starts are read up to this many characters: long enough to be rare, short enough to be read
LONG_TEXT = 400  # above this many characters each start is looked for with `in` rather than indexed

_State = set[tuple[str, bool]]  # (prefix so far, can it still grow?)


def _join(state: _State, more: _State) -> _State:
    out: _State = set()
    for prefix, open_ in state:
        if not open_ or len(prefix) >= KEY:
            out.add((prefix, False))
            continue
        for piece, piece_open in more:
            joined = prefix + piece
            out.add((joined[:KEY], piece_open and len(joined) < KEY))
    return out


def _closed(state: _State) -> _State:
    return {(prefix, False) for prefix, _ in state}


def _char(code: int) -> str | None:
    """A literal character as the lower-cased text holds it; None for a non-ASCII one that
    IGNORECASE would also match to an ASCII letter (the Kelvin sign and k, the long s and s)."""
    ch = chr(code)
    if code > 127 and (ch.lower().isascii() or ch.upper().isascii()):
        return None
    return ch.lower()


def _read(items: Sequence[tuple[object, object]]) -> _State | None:
    """The possible starts of a sequence of parsed items, as far as they are literal. None when a
    start cannot be told (the sequence may begin with a character class, may be empty…)."""
    state: _State = {("", True)}
    for op, av in items:
        if all(not o or len(p) >= KEY for p, o in state):
            break
        more: _State | None = None
        if op is _c.AT:  # \b, ^, $: take no characters
            continue
        if op is _c.LITERAL:
            ch = _char(av)  # type: ignore[arg-type]
            more = None if ch is None else {(ch, True)}
        elif op is _c.IN and all(kind is _c.LITERAL for kind, _ in av):  # type: ignore[attr-defined]
            chars = [_char(v) for _, v in av]  # type: ignore[attr-defined]
            more = None if None in chars else {(ch, True) for ch in chars if ch is not None}
        elif op is _c.SUBPATTERN:
            more = _read(av[-1].data)  # type: ignore[index]
        elif op is _c.BRANCH:
            subs = [_read(branch.data) for branch in av[1]]  # type: ignore[index]
            more = None if any(s is None for s in subs) else set().union(*subs)  # type: ignore[arg-type]
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:  # type: ignore[index,operator]
            more = _read(av[2].data)  # type: ignore[index]
            if more is not None:  # one repetition is certain; what follows it is not read
                more = _closed(more)
        if more is None:  # not literal, or optional: the starts end here
            state = _closed(state)
            break
        state = _join(state, more)
    if any(not p for p, _ in state):
        return None  # the sequence may begin without a literal (or match the empty string)
    return state


def _parse(pattern: str) -> list[tuple[object, object]] | None:
    try:
        return list(_p.parse(pattern, re.IGNORECASE).data)
    except Exception:  # noqa: BLE001 - an unexpected form: the pattern then always runs
        return None


def literal_starts(pattern: str) -> frozenset[str] | None:
    """Lower-cased strings (1 to KEY characters) one of which begins every match of `pattern`
    (compiled with IGNORECASE), or None when that cannot be said of it."""
    items = _parse(pattern)
    state = None if items is None else _read(items)
    return None if state is None else frozenset(p for p, _ in state)


def literal_needs(pattern: str) -> list[frozenset[str]]:
    """Further strings a match must contain: for each later step of the pattern, the starts of what
    the rest of the pattern matches from there (a match holds a match of every tail of the
    pattern). A text lacking every string of one of these sets cannot match."""
    items = _parse(pattern) or []
    needs: list[frozenset[str]] = []
    for j in range(1, len(items)):
        state = _read(items[j:])
        if state is not None:
            need = frozenset(p for p, _ in state)
            if need not in needs:
                needs.append(need)
    return needs


class Prefilter:
    """For a list of patterns, which ones may match a given text."""

    def __init__(self, patterns: Iterable[str]) -> None:
        patterns = list(patterns)
        self.count = len(patterns)
        self._always: list[int] = []  # patterns whose starts cannot be read: they always run
        self._index: dict[str, list[int]] = {}  # a KEY-character start -> the patterns it begins
        self._short: list[tuple[str, int]] = []  # shorter starts (a pattern ends or branches early)
        self._needs: list[list[frozenset[str]]] = []  # what else each pattern's match must contain
        for i, pattern in enumerate(patterns):
            self._needs.append(literal_needs(pattern))
            starts = literal_starts(pattern)
            if starts is None:
                self._always.append(i)
                continue
            for s in starts:
                if len(s) == KEY:
                    self._index.setdefault(s, []).append(i)
                else:
                    self._short.append((s, i))

    def candidates(self, text: str) -> list[int]:
        """The patterns, in their order, that may match `text`; the others cannot."""
        if not text.isascii():
            return list(range(self.count))
        low = text.lower()
        found = set(self._always)
        if len(low) <= LONG_TEXT:
            index = self._index
            grams = {low[i : i + KEY] for i in range(len(low) - KEY + 1)}
            for gram in grams.intersection(index):
                found.update(index[gram])
        else:
            for start, ids in self._index.items():
                if start in low:
                    found.update(ids)
        for start, i in self._short:
            if i not in found and start in low:
                found.add(i)
        needs = self._needs
        return [i for i in sorted(found) if all(any(s in low for s in need) for need in needs[i])]
