"""The engine: :class:`dfa`, a state that runs a sub-machine over a :class:`peekable`, and
:class:`NonTerminal`, raised when its input is not a sentence of its language."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ..dotdict import dotdict
from ._source import peekable
from ._states import Target, centered, decide, state

#: What running a machine yields: the machine, and the state it entered (None: awaiting input).
Event = tuple[state, state | None]


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

    @property
    def terminal(self) -> bool:
        """Created terminal, and the sub-machine's current state is terminal (docs/automata.md)."""
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
        return centered(self.name, "." + (self.current.name if self.current else ""), width)

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
