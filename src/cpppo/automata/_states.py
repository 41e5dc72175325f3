"""Deterministic finite automata: states, sub-machines and regular-expression machines.

A machine is a graph of :class:`state` nodes.  ``S['a'] = T`` adds a transition on symbol ``'a'``,
``S[True] = T`` on any symbol, ``S[None] = T`` without input (epsilon), ``S[pred] = T`` on any
symbol for which the callable ``pred`` is true, and ``S[('a', 'b')] = T`` on each listed symbol.
A target may also be a :class:`decide` (or a list of them, optionally ending in a state): a
transition chosen by a predicate over the data collected so far.

A :class:`dfa` is itself a state that runs a sub-machine from its ``initial`` state.  When the
sub-machine has no transition for the next symbol, it stops (if its state is terminal) and the
enclosing machine's transitions are tried.  ``dfa.run(source=..., data=...)`` yields
``(machine, state)`` pairs as it goes, and ``(machine, None)`` when it waits for more input; a
machine that cannot reach a terminal state raises :class:`NonTerminal`.

A :class:`regex` is a dfa built from a regular expression.  Its hot path is a precomputed
transition table run over whole buffers of input, not a generator step per symbol.
"""

from __future__ import annotations

import bisect
import collections
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Union

from . import regex_dfa
from .dotdict import dotdict

__all__ = [
    "NonTerminal",
    "decide",
    "dfa",
    "peekable",
    "regex",
    "regex_bytes",
    "state",
    "state_drop",
    "state_input",
]

#: A transition target: a state, a decide, or decides tried in order (the last may be a state).
Target = Union["state", "decide", "list[decide | state]", None]
Event = tuple["state", Union["state", None]]

_MISSING: Any = object()
_SEQUENCES = (str, bytes, bytearray, list, tuple)


class NonTerminal(Exception):
    """A machine stopped in a non-terminal state: its input is not a sentence of its language.

    ``machine`` and ``state`` are where it stopped, ``position`` the number of symbols consumed
    from the source so far, ``symbol`` the next symbol (``None`` when the input was exhausted).
    """

    def __init__(
        self, machine: state, state_: state | None, position: int, symbol: Any, reason: str
    ) -> None:
        where = state_.name if state_ is not None else "(none)"
        super().__init__(
            f"{machine.name!r} stopped in non-terminal state {where!r} after {position} "
            f"symbols: {reason}"
        )
        self.machine = machine
        self.state = state_
        self.position = position
        self.symbol = symbol


class peekable:
    """An iterator over symbols with look-ahead (:meth:`peek`), a count of symbols consumed
    (``.sent``), push-back (:meth:`push`) and more input appended later (:meth:`chain`).

    A str, bytes, bytearray, list or tuple is read in place (bytes yield ints); any other
    iterable is pulled one symbol at a time, only when needed.  ``peekable(p)`` of a peekable
    ``p`` returns ``p`` itself.
    """

    __slots__ = ("_buf", "_more", "_pos", "sent")

    def __new__(cls, iterable: Iterable[Any] | None = None) -> peekable:
        if isinstance(iterable, peekable):
            return iterable
        return super().__new__(cls)

    def __init__(self, iterable: Iterable[Any] | None = None) -> None:
        if iterable is self:
            return
        self._buf: Any = ()
        self._pos = 0
        self._more: collections.deque[Any] = collections.deque()
        self.sent = 0
        if iterable is not None:
            self.chain(iterable)

    def chain(self, iterable: Iterable[Any]) -> None:
        """Append more input after what is already there."""
        if isinstance(iterable, memoryview):
            iterable = iterable.cast("B").tobytes()
        self._more.append(iterable if isinstance(iterable, _SEQUENCES) else iter(iterable))

    def _fill(self) -> bool:
        """Make the current buffer non-empty; False if no input is available (yet)."""
        more = self._more
        while self._pos >= len(self._buf):
            if not more:
                return False
            head = more[0]
            if isinstance(head, _SEQUENCES):
                more.popleft()
                self._buf, self._pos = head, 0
                continue
            try:
                self._buf, self._pos = (next(head),), 0
            except StopIteration:
                more.popleft()
        return True

    def peek(self) -> Any:
        """The next symbol without consuming it, or ``None`` if there is none (yet)."""
        if self._pos < len(self._buf) or self._fill():
            return self._buf[self._pos]
        return None

    def __iter__(self) -> peekable:
        return self

    def __next__(self) -> Any:
        if self._pos >= len(self._buf) and not self._fill():
            raise StopIteration
        sym = self._buf[self._pos]
        self._pos += 1
        self.sent += 1
        return sym

    def push(self, symbol: Any) -> None:
        """Push a symbol back, to be the next one read; ``.sent`` goes down by one."""
        if self._pos and self._buf[self._pos - 1] == symbol:
            self._pos -= 1
        else:
            if self._pos < len(self._buf):
                self._more.appendleft(self._buf[self._pos :])
            self._buf, self._pos = (symbol,), 0
        self.sent -= 1

    # Bulk access for table-driven machines.
    def _segment(self) -> tuple[Any, int]:
        """The current buffer and position within it, or ``(None, 0)`` if no input is ready."""
        if self._pos < len(self._buf) or self._fill():
            return self._buf, self._pos
        return None, 0

    def _skip(self, count: int) -> None:
        """Consume ``count`` symbols of the current buffer."""
        self._pos += count
        self.sent += count


def _path(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _store(data: dotdict, key: str, symbols: Any) -> None:
    """Append symbols (one symbol, or a str/bytes run of them) to the value at ``key``.

    Text accumulates as ``str``, bytes (int symbols) as a ``bytearray``, anything else in a list;
    a list or tuple is a run of symbols.
    """
    old = data.get(key)
    if isinstance(symbols, int) and not isinstance(symbols, bool):
        if old is None:
            data[key] = bytearray((symbols,)) if 0 <= symbols < 256 else [symbols]
        else:
            old.append(symbols)
    elif isinstance(symbols, (bytes, bytearray)):
        if old is None:
            data[key] = bytearray(symbols)
        else:
            old.extend(symbols)
    elif isinstance(symbols, str):
        data[key] = symbols if old is None else old + symbols
    elif isinstance(symbols, (list, tuple)):
        for symbol in symbols:
            _store(data, key, symbol)
    elif old is None:
        data[key] = [symbols]
    else:
        old.append(symbols)


def _centered(left: str, right: str, width: int) -> str:
    half = width // 2
    if len(left) > half:
        left = "~" + left[len(left) - half + 1 :]
    if len(right) > width - half:
        right = right[: width - half - 1] + "~"
    return f"{left:>{half}}{right:<{width - half}}"


class decide:
    """A transition taken only when ``predicate(machine=, source=, path=, data=)`` is true.

    Use as a transition target: ``S[True] = [decide('big', BIG, lambda data, path, **_: ...),
    SMALL]`` tries each decide in order and falls back to the final state, if any.
    """

    def __init__(
        self,
        name: str,
        state: state | None = None,
        predicate: Callable[..., Any] | None = None,
    ) -> None:
        self.name = name
        self.state = state
        self.predicate = predicate

    def execute(self, machine: state, source: peekable, path: str, data: dotdict) -> state | None:
        """The target state if the predicate holds (or there is none), else ``None``."""
        if self.predicate is None or self.predicate(
            machine=machine, source=source, path=path, data=data
        ):
            return self.state
        return None

    def __repr__(self) -> str:
        return f"decide({self.name!r}, {self.state!r})"


class state:
    """A state that consumes no input; its items are its outgoing transitions.

    ``context`` names the data path of this state (relative to the enclosing machine's path);
    ``terminal`` marks an accepting state; a non-``greedy`` terminal state stops its machine as
    soon as it is reached.
    """

    def __init__(
        self,
        name: str,
        terminal: bool = False,
        context: str | None = None,
        greedy: bool = True,
    ) -> None:
        self.name = name
        self.terminal = terminal
        self.greedy = greedy
        self._context = context or ""
        self._edges: dict[Any, Target] = {}
        self._tests: list[tuple[Callable[[Any], Any], Target]] = []
        self._any: Target = None
        self._epsilon: Target = None

    # --- transitions --------------------------------------------------------------------------
    def __setitem__(self, symbol: Any, target: Target) -> None:
        _check_target(target)
        if symbol is None:
            self._epsilon = target
        elif symbol is True:
            self._any = target
        elif isinstance(symbol, (tuple, list, set, frozenset, range)):
            for sym in symbol:
                self[sym] = target
        elif callable(symbol):
            self._tests = [(t, x) for t, x in self._tests if t is not symbol]
            self._tests.append((symbol, target))
        elif isinstance(symbol, (str, bytes)) and len(symbol) != 1:
            raise ValueError(
                f"state {self.name!r}: transition symbol {symbol!r} is not one symbol "
                "(use a tuple for several)"
            )
        else:
            self._edges[symbol[0] if isinstance(symbol, bytes) else symbol] = target

    def __getitem__(self, symbol: Any) -> Target:
        if symbol is None:
            found: Any = self._epsilon if self._epsilon is not None else _MISSING
        elif symbol is True:
            found = self._any if self._any is not None else _MISSING
        elif callable(symbol) and not isinstance(symbol, (str, bytes)):
            found = next((x for t, x in self._tests if t is symbol), _MISSING)
        else:
            found = self._edges.get(symbol[0] if isinstance(symbol, bytes) else symbol, _MISSING)
        if found is _MISSING:
            raise KeyError(symbol)
        return found

    def __contains__(self, symbol: Any) -> bool:
        try:
            self[symbol]
        except KeyError:
            return False
        return True

    def edges(self) -> list[tuple[Any, Target]]:
        """All transitions as (symbol, target): symbols, then predicates, True, None."""
        result: list[tuple[Any, Target]] = list(self._edges.items())
        result.extend(self._tests)
        if self._any is not None:
            result.append((True, self._any))
        if self._epsilon is not None:
            result.append((None, self._epsilon))
        return result

    def nodes(self) -> list[state]:
        """This state and every state reachable from it (through decides, too)."""
        found: list[state] = [self]
        seen = {id(self)}
        for node in found:
            for _, target in node.edges():
                for tgt in _targets(target):
                    if id(tgt) not in seen:
                        seen.add(id(tgt))
                        found.append(tgt)
        return found

    def _lookup(self, symbol: Any) -> Target:
        """The transition for an available symbol: exact, predicate, any, then epsilon."""
        target = self._edges.get(symbol, _MISSING)
        if target is not _MISSING:
            return target
        for test, target in self._tests:
            if test(symbol):
                return target
        return self._any if self._any is not None else self._epsilon

    def _wants_input(self) -> bool:
        return bool(self._edges or self._tests or self._any is not None)

    # --- running ------------------------------------------------------------------------------
    def _process(self, source: peekable, path: str, data: dotdict) -> bool:
        """Consume this state's input on entry; False if it needs a symbol and none is ready."""
        return True

    def context(self, path: str = "", extension: str = "") -> str:
        """This state's data path: ``<path>.<context><extension>``, skipping empty parts."""
        base = _path(path, self._context)
        return base + extension if base else extension.lstrip(".")

    def name_centered(self, width: int = 40) -> str:
        """The name, right-aligned on the centre of a ``width`` column field (for log lines)."""
        return _centered(self.name, "", width)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}{' terminal' if self.terminal else ''}>"


def _targets(target: Target) -> Iterator[state]:
    if isinstance(target, state):
        yield target
    elif isinstance(target, decide):
        if target.state is not None:
            yield target.state
    elif isinstance(target, list):
        for item in target:
            yield from _targets(item)


def _check_target(target: Target) -> None:
    items = target if isinstance(target, list) else [target]
    for i, item in enumerate(items):
        ok = isinstance(item, decide) or (
            (item is None or isinstance(item, state)) and (target is item or i == len(items) - 1)
        )
        if not ok:
            raise TypeError(
                f"transition target {item!r} must be a state, a decide, None or a list of "
                "decides (optionally ending with a state)"
            )


class state_input(state):
    """A state that consumes one symbol on entry and appends it at ``<path>.<context>.input``."""

    def _process(self, source: peekable, path: str, data: dotdict) -> bool:
        if source.peek() is None:
            return False
        _store(data, self.context(path, ".input"), next(source))
        return True


class state_drop(state):
    """A state that consumes one symbol on entry and discards it."""

    def _process(self, source: peekable, path: str, data: dotdict) -> bool:
        if source.peek() is None:
            return False
        next(source)
        return True


class dfa(state):
    """A state that runs a sub-machine starting at ``initial``.

    Its ``.terminal`` is true only if it was created ``terminal=True`` *and* its sub-machine's
    current (final) state is terminal.  ``greedy=False`` stops the sub-machine at the first
    terminal state it reaches.  Run it with ``with machine: for m, s in machine.run(...)``; the
    ``with`` block keeps other threads from running the same machine at the same time.
    """

    def __init__(
        self,
        name: str | None = None,
        initial: state | None = None,
        terminal: bool = False,
        context: str | None = None,
        greedy: bool = True,
    ) -> None:
        if not isinstance(initial, state):
            raise TypeError(f"dfa {name!r}: initial must be a state, not {initial!r}")
        super().__init__(name or initial.name, terminal=terminal, context=context, greedy=greedy)
        self.initial = initial
        self.current: state | None = None
        self._lock = threading.Lock()
        self._owner: int | None = None

    @property  # type: ignore[override]
    def terminal(self) -> bool:
        """Created terminal, and the sub-machine's current state is terminal (spec 4.3.2)."""
        return self._terminal and self.current is not None and self.current.terminal

    @terminal.setter
    def terminal(self, value: bool) -> None:
        self._terminal = bool(value)

    def __enter__(self) -> dfa:
        self._lock.acquire()
        self._owner = threading.get_ident()
        return self

    def __exit__(self, *exc: object) -> None:
        self._owner = None
        self._lock.release()

    def name_centered(self, width: int = 40) -> str:
        """``name.current`` centred on the ``.`` so nested machines' log lines line up."""
        return _centered(self.name, "." + (self.current.name if self.current else ""), width)

    def run(self, source: Any, path: str = "", data: dotdict | None = None) -> Iterator[Event]:
        """Run the machine over ``source`` (any iterable, or a :class:`peekable` to see what
        is left afterwards), storing results in ``data``; yields ``(machine, state)`` pairs.

        Must be called inside ``with machine:``.  Raises :class:`NonTerminal` if the input is
        not a sentence of the machine's language.
        """
        if self._owner != threading.get_ident():
            raise RuntimeError(f"run {self.name!r} inside 'with machine:'")
        return self._run(peekable(source), path, dotdict() if data is None else data)

    def _await(self, source: peekable, at: state | None) -> Iterator[Event]:
        """Yield ``(self, None)`` for the caller to supply input; fail if none arrives."""
        sent = source.sent
        yield self, None
        if source.sent == sent and source.peek() is None:
            raise NonTerminal(self, at, source.sent, None, "input exhausted")

    def _run(self, source: peekable, path: str, data: dotdict) -> Iterator[Event]:
        here = self.context(path)
        greedy = self.greedy
        current: state = self.initial
        entered: dict[int, int] = {}  # id(state) -> source.sent when last entered
        self.current = None
        while True:
            if entered.get(id(current)) == source.sent:
                raise NonTerminal(
                    self, current, source.sent, source.peek(), "loops without consuming input"
                )
            entered[id(current)] = source.sent
            self.current = current
            yield self, current
            if isinstance(current, dfa):
                yield from current._run(source, here, data)
            else:
                while not current._process(source, here, data):
                    yield from self._await(source, current)
            while True:
                terminal = current.terminal
                if terminal and not (greedy and current.greedy):
                    return
                symbol = source.peek()
                target = current._lookup(symbol) if symbol is not None else current._epsilon
                if isinstance(target, (decide, list)):
                    target = self._decide(target, source, here, data)
                if target is not None:
                    break
                if terminal:
                    return
                if symbol is None and current._wants_input():
                    yield from self._await(source, current)
                    continue
                raise NonTerminal(
                    self,
                    current,
                    source.sent,
                    symbol,
                    "input exhausted" if symbol is None else f"no transition on {symbol!r}",
                )
            current = target

    def _decide(self, target: Target, source: peekable, path: str, data: dotdict) -> state | None:
        for item in target if isinstance(target, list) else [target]:
            if isinstance(item, decide):
                chosen = item.execute(self, source, path, data)
                if chosen is not None:
                    return chosen
            else:
                return item
        return None


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
                _store(data, key, run)
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
