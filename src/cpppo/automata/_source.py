"""The input of every machine: an iterator over symbols with look-ahead and push-back."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any

#: Input read in place (indexed), rather than pulled one symbol at a time.
_SEQUENCES = (str, bytes, bytearray, list, tuple)


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
