"""Regular expression -> plain DFA transition table.

This is the only module that knows the regex engine (greenery 4).  It hands back a :class:`Table`
of our own: live states, symbol classes (code point ranges) with identical columns merged, and a
transition matrix.  Another engine (interegular, a home-grown subset construction) could produce
the same table without touching :mod:`cpppo.automata`.

Pattern syntax is greenery's, made a little closer to Python's ``re``:

- ``^`` and ``$`` outside a character class are rejected (greenery would read them as literal
  characters; a machine always matches from where it stands, so anchors have no meaning).
- An escaped punctuation character that greenery does not know as an escape (``\\$``, ``\\-``,
  ``\\/``...) is read as that literal character, as ``re`` does.
- ``.`` matches any symbol, newline included (like ``re.DOTALL``); ``\\d``, ``\\w``, ``\\s`` are
  ASCII only (like ``re.ASCII``).

Byte machines (``utf8=True``) run over byte values 0-255: ASCII characters stand for themselves,
``.`` and negated classes match any byte not listed, and each non-ASCII character of a
(non-negated) class stands for its UTF-8 byte sequence.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

from greenery import Charclass, Pattern, parse
from greenery.multiplier import ONE
from greenery.parse import NoMatch
from greenery.rxelems import Conc, Mult

__all__ = ["Table", "compile_regex"]

MAX_CODE_POINT = 0x10FFFF

# Characters greenery treats as special outside / inside a character class.
_OUTSIDE_SPECIAL = frozenset("\\[]|().?*+{}")
_INSIDE_SPECIAL = frozenset("\\[]^-")


@dataclass(frozen=True)
class Table:
    """A deterministic automaton as plain tables.

    ``states[i]`` is the engine's number for state ``i`` (index 0 is the initial state); ``finals``
    holds the indices of accepting states.  Symbols fall into classes: ``bounds`` are the sorted
    first code points of consecutive ranges and ``range_class[k]`` the class of range ``k``, so the
    class of code point ``cp`` is ``range_class[bisect_right(bounds, cp)]``.  ``trans[i][c]`` is
    the index of the next state on a symbol of class ``c``, or ``None`` when the symbol can not
    lead to acceptance.  ``labels[c]`` describes class ``c`` in regex syntax.
    """

    pattern: str
    states: tuple[int, ...]
    finals: frozenset[int]
    bounds: tuple[int, ...]
    range_class: tuple[int, ...]
    labels: tuple[str, ...]
    trans: tuple[tuple[int | None, ...], ...]

    def symbol_class(self, code_point: int) -> int:
        """The class index of a code point (or byte value)."""
        return self.range_class[bisect.bisect_right(self.bounds, code_point)]

    def ranges(self, cls: int) -> list[tuple[int, int]]:
        """The inclusive code point ranges making up class ``cls``."""
        starts = (0, *self.bounds)
        ends = (*(b - 1 for b in self.bounds), MAX_CODE_POINT)
        return [(lo, hi) for lo, hi, c in zip(starts, ends, self.range_class) if c == cls]

    def accepts(self, symbols: str | bytes) -> bool:
        """Whether the whole of ``symbols`` is a sentence of the language (a reference check)."""
        i = 0
        for sym in symbols:
            nxt = self.trans[i][self.symbol_class(sym if isinstance(sym, int) else ord(sym))]
            if nxt is None:
                return False
            i = nxt
        return i in self.finals


def _prepare(pattern: str) -> str:
    """Reject anchors and rewrite ``re``-style escapes and class literals into greenery's syntax."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = first = False  # first: just after '[' or '[^', where ']' is a literal
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            special = _INSIDE_SPECIAL if in_class else _OUTSIDE_SPECIAL
            # Letters and digits are escape sequences (\d, \n, \x41); other punctuation that
            # greenery does not escape is a literal it reads bare (^ and $ included).
            out.append(ch + nxt if nxt.isalnum() or nxt in special else nxt)
            i += 2
            first = False
            continue
        if in_class:
            if ch == "]" and not first:
                in_class = False
                out.append(ch)
            elif ch in "[]^":
                out.append("\\" + ch)
            else:
                out.append(ch)
            first = False
        elif ch == "[":
            in_class = first = True
            out.append(ch)
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
        elif ch in "^$":
            raise ValueError(
                f"regex {pattern!r}: anchor {ch!r} at {i} is not supported "
                "(a machine always matches from its current position; escape it for a literal)"
            )
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _utf8_sequences(lo: int, hi: int) -> list[list[tuple[int, int]]]:
    """Byte-range sequences matching exactly the UTF-8 encodings of code points lo..hi (>= 0x80)."""
    result: list[list[tuple[int, int]]] = []
    # Split at encoding-length boundaries and around the surrogates (not encodable).
    for a, b in ((0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, MAX_CODE_POINT)):
        lo2, hi2 = max(lo, a), min(hi, b)
        if lo2 <= hi2:
            _split_same_length(lo2, hi2, result)
    return result


def _split_same_length(lo: int, hi: int, result: list[list[tuple[int, int]]]) -> None:
    """Append byte-range sequences for lo..hi, whose UTF-8 encodings all have the same length."""
    length = len(chr(lo).encode())
    for k in range(1, length):
        mask = (1 << (6 * k)) - 1  # the code point bits carried by the last k bytes
        if lo & ~mask != hi & ~mask:
            if lo & mask:
                _split_same_length(lo, lo | mask, result)
                _split_same_length((lo | mask) + 1, hi, result)
                return
            if hi & mask != mask:
                _split_same_length(lo, (hi & ~mask) - 1, result)
                _split_same_length(hi & ~mask, hi, result)
                return
    result.append(list(zip(chr(lo).encode(), chr(hi).encode())))


def _byte_class(lo: int, hi: int) -> Mult:
    return Mult(Charclass(((chr(lo), chr(hi)),)), ONE)


def _to_bytes(node: Pattern | Charclass, pattern: str) -> Pattern | Charclass:
    """Rewrite a parsed pattern so each non-ASCII character stands for its UTF-8 bytes."""
    if isinstance(node, Pattern):
        return Pattern(
            *(
                Conc(*(Mult(_to_bytes(m.multiplicand, pattern), m.multiplier) for m in c.mults))
                for c in node.concs
            )
        )
    if all(hi < 0x80 for _, hi in node.ord_ranges):
        return node
    if node.negated:
        raise ValueError(
            f"byte regex {pattern!r}: a negated class with non-ASCII characters is ambiguous "
            "over bytes; use a bytes pattern, or a str machine on decoded text"
        )
    concs = []
    ascii_ranges = [(lo, min(hi, 0x7F)) for lo, hi in node.ord_ranges if lo < 0x80]
    if ascii_ranges:
        chars = tuple((chr(lo), chr(hi)) for lo, hi in ascii_ranges)
        concs.append(Conc(Mult(Charclass(chars), ONE)))
    for lo, hi in node.ord_ranges:
        if hi >= 0x80:
            for seq in _utf8_sequences(max(lo, 0x80), hi):
                concs.append(Conc(*(_byte_class(a, b) for a, b in seq)))
    return Pattern(*concs)


def _positive_ranges(cc: Charclass) -> list[tuple[int, int]]:
    """A greenery Charclass as inclusive code point ranges (a negated class is complemented)."""
    if not cc.negated:
        return list(cc.ord_ranges)
    ranges, start = [], 0
    for lo, hi in cc.ord_ranges:
        if lo > start:
            ranges.append((start, lo - 1))
        start = hi + 1
    if start <= MAX_CODE_POINT:
        ranges.append((start, MAX_CODE_POINT))
    return ranges


@functools.lru_cache(maxsize=256)
def compile_regex(pattern: str | bytes, utf8: bool = False) -> Table:
    """Build the minimal DFA :class:`Table` of a regular expression.

    ``pattern`` may be ``bytes`` (each byte is the character of that code point, for byte
    machines).  With ``utf8=True`` non-ASCII characters of a str pattern become UTF-8 byte
    sequences.  Raises ``ValueError`` for a pattern that can not be parsed or is not supported.
    """
    text = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
    try:
        tree = parse(_prepare(text))
    except NoMatch as exc:
        raise ValueError(f"regex {text!r} can not be parsed: {exc}") from None
    except IndexError:  # greenery indexes past the end of some truncated patterns
        raise ValueError(f"regex {text!r} can not be parsed: it ends too early") from None
    if utf8 and isinstance(pattern, str):
        tree = _to_bytes(tree, text)
    fsm = tree.to_fsm().reduce()

    # Live states: those from which a final state can be reached (the initial one is always kept).
    reverse: dict[int, set[int]] = {s: set() for s in fsm.states}
    for s, row in fsm.map.items():
        for t in row.values():
            reverse[t].add(s)
    live, todo = set(fsm.finals), list(fsm.finals)
    while todo:
        for s in reverse[todo.pop()]:
            if s not in live:
                live.add(s)
                todo.append(s)
    # Number the live states breadth-first from the initial state.
    alphabet = sorted(fsm.alphabet, key=lambda cc: _positive_ranges(cc)[0])
    order, seen = [fsm.initial], {fsm.initial}
    for s in order:
        for cc in alphabet:
            t = fsm.map[s][cc]
            if t in live and t not in seen:
                seen.add(t)
                order.append(t)
    index = {s: i for i, s in enumerate(order)}

    # Merge symbol classes whose columns (next state from every state) are identical.
    columns: dict[tuple[int | None, ...], list[Charclass]] = {}
    for cc in alphabet:
        col = tuple(index.get(fsm.map[s][cc]) for s in order)
        columns.setdefault(col, []).append(cc)
    merged = list(columns.items())
    spans: list[tuple[int, int, int]] = []
    for cls, (_, ccs) in enumerate(merged):
        for cc in ccs:
            spans.extend((lo, hi, cls) for lo, hi in _positive_ranges(cc))
    spans.sort()
    bounds: list[int] = []
    range_class: list[int] = []
    for lo, _, cls in spans:
        if range_class and range_class[-1] == cls:
            continue
        if range_class:
            bounds.append(lo)
        range_class.append(cls)
    labels = tuple(str(functools.reduce(Charclass.union, ccs)) for _, ccs in merged)
    trans = tuple(tuple(col[i] for col, _ in merged) for i in range(len(order)))
    return Table(
        pattern=text,
        states=tuple(order),
        finals=frozenset(index[s] for s in fsm.finals if s in index),
        bounds=tuple(bounds),
        range_class=tuple(range_class),
        labels=labels,
        trans=trans,
    )
