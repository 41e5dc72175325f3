"""States of a machine and their transitions: :class:`state` (consumes no input),
:class:`state_input` and :class:`state_drop` (consume one symbol), and :class:`decide` (a
transition taken when a predicate over the data holds)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Union

from ..dotdict import dotdict
from ._source import peekable

#: A transition target: a state, a decide, or decides tried in order (the last may be a state).
Target = Union["state", "decide", "list[decide | state]", None]

_MISSING: Any = object()


def _path(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def store(data: dotdict, key: str, symbols: Any) -> None:
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
            store(data, key, symbol)
    elif old is None:
        data[key] = [symbols]
    else:
        old.append(symbols)


def centered(left: str, right: str, width: int) -> str:
    """``left`` right-aligned and ``right`` left-aligned on the middle of a ``width`` column
    field, each cut (marked ``~``) to its half (for log lines of nested machines)."""
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
        return centered(self.name, "", width)

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
        store(data, self.context(path, ".input"), next(source))
        return True


class state_drop(state):
    """A state that consumes one symbol on entry and discards it."""

    def _process(self, source: peekable, path: str, data: dotdict) -> bool:
        if source.peek() is None:
            return False
        next(source)
        return True
