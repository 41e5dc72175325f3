"""Regular-expression machines: :class:`regex` and :class:`regex_bytes`, dfas that run a
precomputed transition table (from :mod:`cpppo.regex_dfa`) over whole buffers of input."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import regex_dfa
from ..dotdict import dotdict
from ._machine import Event, NonTerminal, dfa
from ._source import peekable
from ._states import state, state_input, store


class _SymbolClass:
    """A transition predicate: is a symbol (char or int code) in this class's ranges?"""

    __slots__ = ("_his", "_los", "label")

    def __init__(self, ranges: list[tuple[int, int]], label: str) -> None:
        self._los = [lo for lo, _ in ranges]
        self._his = [hi for _, hi in ranges]
        self.label = label

    def __call__(self, symbol: Any) -> bool:
        code = _code(symbol)
        i = bisect.bisect_right(self._los, code) - 1
        return i >= 0 and code <= self._his[i]

    def __repr__(self) -> str:
        return self.label


def _code(symbol: Any) -> int:
    """A symbol's code point (ints are byte values or code points); -1 if it is not a symbol."""
    if isinstance(symbol, str):
        return ord(symbol) if len(symbol) == 1 else -1
    if isinstance(symbol, int) and not isinstance(symbol, bool):
        return symbol if 0 <= symbol <= regex_dfa.MAX_CODE_POINT else -1
    return -1


class _CharClasses(dict):
    """``str.translate`` map: code point -> class as a 1-char str, filled in on first use."""

    __slots__ = ("_classify",)
    LIMIT = 1 << 16  # cache at most this many distinct characters

    def __init__(self, classify: Callable[[int], int]) -> None:
        super().__init__()
        self._classify = classify

    def __missing__(self, code: int) -> str:
        value = chr(self._classify(code))
        if len(self) < self.LIMIT:
            self[code] = value
        return value


class _Program:
    """A regex Table turned into what the scanning loop needs: a flat next-state list over
    premultiplied state codes, symbol-to-class maps, and a state object per DFA state."""

    FIRST_CHUNK = 64
    CHUNK = 1 << 14

    def __init__(self, table: regex_dfa.Table, name: str) -> None:
        self.table = table
        ncls = len(table.labels) + 1  # one more class: not a symbol at all
        self.ncls = ncls
        self.reject = ncls - 1
        live = len(table.states)
        self.stop = live * ncls  # codes >= stop: dead (no acceptance possible) or halted
        dead, halt = live * ncls, (live + 1) * ncls
        greedy = [dead] * ((live + 2) * ncls)
        for i, row in enumerate(table.trans):
            for c, j in enumerate(row):
                if j is not None:
                    greedy[i * ncls + c] = j * ncls
        lazy = list(greedy)
        for i in table.finals:
            lazy[i * ncls : (i + 1) * ncls] = [halt] * ncls
        self.greedy, self.lazy = greedy, lazy
        self.finals = frozenset(i * ncls for i in table.finals)
        self.bytes_map = bytes(table.symbol_class(b) for b in range(256)) if ncls <= 256 else None
        self.chars_map = _CharClasses(table.symbol_class) if ncls <= 256 else None

        # The graph as ordinary states: entering one consumes a symbol; the initial state is a
        # no-input copy, entered without a symbol.
        self.states = [
            state_input(str(n), terminal=i in table.finals) for i, n in enumerate(table.states)
        ]
        self.entry = state(f"{table.states[0]}'", terminal=0 in table.finals)
        preds = [_SymbolClass(table.ranges(c), label) for c, label in enumerate(table.labels)]
        for i, row in enumerate(table.trans):
            for node in (self.states[i], self.entry) if i == 0 else (self.states[i],):
                for c, j in enumerate(row):
                    if j is not None:
                        node[preds[c]] = self.states[j]

    def classes(self, chunk: Any) -> Iterable[int]:
        """The class of each symbol of a chunk of input."""
        if isinstance(chunk, str) and self.chars_map is not None:
            return chunk.translate(self.chars_map).encode("latin-1")
        if isinstance(chunk, (bytes, bytearray)) and self.bytes_map is not None:
            return chunk.translate(self.bytes_map)
        table, reject = self.table, self.reject
        return [reject if (c := _code(s)) < 0 else table.symbol_class(c) for s in chunk]

    def scan(self, chunk: Any, code: int, table: list[int]) -> tuple[int, int]:
        """Run state ``code`` over ``chunk`` with ``table`` (:attr:`greedy` or :attr:`lazy`):
        (symbols consumed, state code reached)."""
        stop = self.stop
        if len(chunk) == 1:
            c = _code(chunk[0])
            y = table[code + (self.reject if c < 0 else self.table.symbol_class(c))]
            return (0, code) if y >= stop else (1, y)
        classes = self.classes(chunk)
        x = code
        for c in classes:
            x = table[x + c]
        if x < stop:
            return len(chunk), x
        # The machine stopped inside this chunk: find where.
        x, n = code, 0
        for c in classes:
            y = table[x + c]
            if y >= stop:
                break
            x = y
            n += 1
        return n, x


class regex(dfa):
    """A dfa recognizing a regular expression (see :mod:`cpppo.regex_dfa` for the syntax).

    The default name is the expression itself.  Symbols accepted are stored at
    ``<path>.<context>.input``.  Greedy (the default) consumes symbols until input is exhausted
    or the next symbol cannot be part of a sentence; ``greedy=False`` stops at the first
    sentence.  ``.terminal`` (when created ``terminal=True``) tells whether the regex accepted.
    """

    _utf8 = False

    def __init__(
        self,
        name: str | None = None,
        initial: str | bytes = ".*",
        terminal: bool = False,
        context: str | None = None,
        greedy: bool = True,
    ) -> None:
        if not isinstance(initial, (str, bytes)):
            raise TypeError(f"regex {name!r}: initial must be a regular expression (str/bytes)")
        table = regex_dfa.compile_regex(initial, utf8=self._utf8)
        self._program = _Program(table, table.pattern)
        super().__init__(
            name or table.pattern,
            initial=self._program.entry,
            terminal=terminal,
            context=context,
            greedy=greedy,
        )

    def _run(self, source: peekable, path: str, data: dotdict) -> Iterator[Event]:
        prog = self._program
        key = self.context(path, ".input")
        greedy = self.greedy
        table = prog.greedy if greedy else prog.lazy
        finals = prog.finals
        code = 0
        size = prog.FIRST_CHUNK  # grows, so a short match early in a long buffer stays cheap
        # Runs of accepted symbols are kept here and stored in data (and reported with an event)
        # when the machine stops or waits, or when they add up to as much as was stored before:
        # appending to the stored value then costs linear time overall.
        pending: list[Any] = []
        waiting = stored = 0
        self.current = prog.entry
        yield self, prog.entry
        while True:
            if not greedy and code in finals:
                break
            buf, pos = source._segment()
            if buf is None:
                if code in finals:
                    break
                if pending:
                    stored += waiting
                    waiting = 0
                    yield self._flush(pending, data, key, code)
                yield from self._await(source, self.current)
                continue
            chunk = buf[pos : pos + size]
            size = min(size * 4, prog.CHUNK)
            count, code = prog.scan(chunk, code, table)
            if count:
                source._skip(count)
                pending.append(chunk[:count] if count < len(chunk) else chunk)
                waiting += count
                if waiting >= prog.CHUNK and waiting >= stored:
                    stored += waiting
                    waiting = 0
                    yield self._flush(pending, data, key, code)
            if count < len(chunk):  # stopped before the end of the input it was given
                if code in finals:
                    break
                self._flush(pending, data, key, code)
                symbol = chunk[count]
                raise NonTerminal(
                    self, self.current, source.sent, symbol, f"no transition on {symbol!r}"
                )
        if pending:
            yield self._flush(pending, data, key, code)

    def _flush(self, pending: list[Any], data: dotdict, key: str, code: int) -> Event:
        """Store the pending runs of symbols and note the state reached."""
        if pending:
            for run in _joined(pending):
                store(data, key, run)
            pending.clear()
            self.current = self._program.states[code // self._program.ncls]
        return self, self.current


def _joined(runs: list[Any]) -> list[Any]:
    """Runs of symbols (str, bytes, or tuples/lists of symbols) merged into few str/bytes."""
    groups: list[list[Any]] = []
    for run in runs:
        if isinstance(run, (tuple, list)):
            if all(isinstance(s, str) for s in run):
                run = "".join(run)
            elif all(type(s) is int and 0 <= s < 256 for s in run):
                run = bytes(run)
        elif isinstance(run, bytearray):
            run = bytes(run)
        if groups and isinstance(run, (str, bytes)) and type(groups[-1][0]) is type(run):
            groups[-1].append(run)
        else:
            groups.append([run])
    return [g[0][:0].join(g) if isinstance(g[0], (str, bytes)) else g[0] for g in groups]


class regex_bytes(regex):
    """A :class:`regex` over bytes (int symbols 0-255), storing a ``bytearray``.

    ASCII characters of the expression match their byte; ``.`` and negated classes match any
    byte not listed; other characters of a str expression match their UTF-8 encoding.  A bytes
    expression names byte values directly (``b'[\\x80-\\xff]+'``).
    """

    _utf8 = True
