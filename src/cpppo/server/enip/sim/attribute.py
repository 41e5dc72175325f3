"""``Attribute``: the value store of a CIP attribute or Logix tag (re-exported by ``device``).

An Attribute holds ``elements`` values of one CIP type (``self.parser``, an instance of the type
class, so ``isinstance(attr.parser, REAL)`` works).

A tag's Attribute presents a tag of the controller's tag database (``tag=`` or
:meth:`Attribute.bind`): its values live in the tag's memory, the database's single store, and
item access reads and writes that memory (for an atomic type the packed bytes are that memory
itself); the simulator's tag services read and write that memory directly. Only CIP object
attributes (Identity, TCP/IP, ...) keep values of their own: fixed-size types packed in a
``bytearray`` (the wire image), variable-size ones (SSTRING, CIP STRING) as a list of strings.

Item access (``attr[i]``, ``attr[i:j]``, ``attr[i] = v``, ``attr[i:j] = [..]``) decodes/encodes
values. A subclass that overrides ``__getitem__`` or ``__setitem__`` (docs/enip-server.md) sees
every tag read and write: the simulator then accesses the tag only through items, off the event loop
(``blocking`` is True for such a subclass unless it sets ``blocking = False``). All access is
guarded by a re-entrant lock, so other threads (web API, user code) may read and write
concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from ..codec.status import Status
from ..codec.types import CipType

__all__ = ["Attribute", "RangeError"]


class RangeError(IndexError):
    """An access outside the attribute's elements (the tag services answer 0xFF/0x2105)."""


def _product(dims: Sequence[int]) -> int:
    count = 1
    for dim in dims:
        count *= dim
    return count


class Attribute:
    """A typed, thread-safe value store for a CIP attribute or a Logix tag.

    ``Attribute(name, type_cls, default=0, error=0x00, mask=0, dims=None)``: ``default`` is a
    value every element starts with, or a list/tuple of the initial values (whose length gives
    the element count when ``dims`` is not given; otherwise the attribute is a scalar).
    ``dims=()`` makes a scalar whatever the default (a composite value such as a path).
    ``error`` is a CIP general status forced onto every successful access (the web API's
    ``tags/<name>/error``); ``mask`` is kept for compatibility. ``tag``: a tag database
    :class:`~.logix_types.Tag` whose memory holds the values (``default`` and ``dims`` are then
    the tag's own).
    """

    # Slots: a controller makes one per tag used (a subclass without __slots__ gets a __dict__).
    __slots__ = (
        "_data", "_lock", "_tag", "_values", "dims", "elements", "error", "mask", "name",
        "parser", "size",
    )  # fmt: skip

    #: None: blocking when a subclass overrides __getitem__/__setitem__; True/False to force.
    blocking: ClassVar[bool | None] = None
    #: True when this class (or a base below Attribute) overrides item access.
    custom_access: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.custom_access = (
            cls.__getitem__ is not Attribute.__getitem__
            or cls.__setitem__ is not Attribute.__setitem__
        )

    def __init__(
        self,
        name: str,
        type_cls: type[CipType] | CipType,
        default: Any = 0,
        error: int = Status.SUCCESS,
        mask: int = 0,
        dims: Sequence[int] | None = None,
        *,
        tag: Any = None,
    ) -> None:
        self.name = name
        self.parser: CipType = type_cls() if isinstance(type_cls, type) else type_cls
        self.error = error
        self.mask = mask
        self._lock = threading.RLock()
        self._tag: Any = None
        if tag is not None:
            self.size: int | None = self.parser.size
            self.bind(tag)
            return
        initial: list[Any] | None = None
        sequence = isinstance(default, (list, tuple))
        if dims is None:
            if sequence:
                initial = list(default)
                dims = (len(initial),)
            else:
                dims = ()
        elif dims and sequence:
            initial = list(default)
        self.dims: tuple[int, ...] = tuple(int(d) for d in dims)
        self.elements: int = _product(self.dims)
        if initial is not None and len(initial) != self.elements:
            raise ValueError(f"{name}: {len(initial)} initial values for {self.elements} elements")
        if initial is None:
            initial = [default] * self.elements
        size = self.parser.size
        self.size = size
        self._data: bytearray | None = None
        self._values: list[Any] | None = None
        if size:
            self._data = bytearray(self.parser.encode(initial))
        else:
            self.parser.encode(initial)  # validates
            self._values = list(initial)

    def bind(self, tag: Any) -> None:
        """Keep this attribute's values in ``tag``'s memory from now on (its own are dropped).

        ``tag`` is a tag database Tag; its element count and dimensions become this
        attribute's (a BOOL array presents its BOOLs).
        """
        with self._lock:
            self._tag = tag
            self.dims = tuple(tag.dims)
            self.elements = tag.elements
            self._values = None
            # An atomic type's packed bytes are the tag's memory itself: share the bytearray.
            storage = tag.storage_type
            shared = (
                not storage.is_struct
                and not storage.variable
                and tag.bools is None
                and storage.size == self.parser.size
            )
            self._data = tag.data if shared else None

    @property
    def tag(self) -> Any:
        """The tag database Tag this attribute presents (None for a CIP object attribute)."""
        return self._tag

    # ---- introspection -------------------------------------------------------------------
    @property
    def is_blocking(self) -> bool:
        """True when access must run off the event loop (user code that may block)."""
        blocking = type(self).blocking
        return self.custom_access if blocking is None else blocking

    def __len__(self) -> int:
        return self.elements

    @property
    def value(self) -> Any:
        """The scalar value, or the list of all values of an array."""
        if not self.dims:
            return self[0]
        return self[0 : self.elements]

    @value.setter
    def value(self, value: Any) -> None:
        if not self.dims:
            self[0] = value
        else:
            self[0 : self.elements] = value

    def type_name(self) -> str:
        """``INT[1000]``-style description of the type and dimensions."""
        dims = "[" + ",".join(str(d) for d in self.dims) + "]" if self.dims else ""
        return f"{self.parser.name}{dims}"

    def __str__(self) -> str:
        with self._lock:
            value = self.value
        text = repr(value)
        if len(text) > 60:
            text = text[:56] + "...]" if isinstance(value, list) else text[:60] + "..."
        return f"{self.name:<15} {self.type_name():>10} == {text}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.type_name()}>"

    # ---- item access (the user-visible interface; subclasses may override) ----------------
    def _validate_key(self, key: int | slice) -> type:
        """Check ``key`` against the elements; return ``slice`` or ``int`` (its kind).

        Raises :class:`RangeError` (a LookupError) for an index or slice outside the
        attribute, and TypeError for a key that is neither.
        """
        if isinstance(key, slice):
            start, stop, step = key.start or 0, key.stop, key.step
            stop = self.elements if stop is None else stop
            if step not in (None, 1) or not 0 <= start <= stop <= self.elements:
                raise RangeError(f"{self.name}: slice {key!r} outside {self.elements}")
            return slice
        if isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < self.elements:
                raise RangeError(f"{self.name}: index {key} outside {self.elements}")
            return int
        raise TypeError(f"{self.name}: key {key!r} is not an int or slice")

    def __getitem__(self, key: int | slice) -> Any:
        kind = self._validate_key(key)
        with self._lock:
            if kind is slice:
                start = key.start or 0  # type: ignore[union-attr]
                stop = self.elements if key.stop is None else key.stop  # type: ignore[union-attr]
                return self._get_values(start, stop - start)
            return self._get_values(key, 1)[0]  # type: ignore[arg-type]

    def __setitem__(self, key: int | slice, value: Any) -> None:
        kind = self._validate_key(key)
        with self._lock:
            if kind is slice:
                start = key.start or 0  # type: ignore[union-attr]
                stop = self.elements if key.stop is None else key.stop  # type: ignore[union-attr]
                values = list(value)
                if len(values) != stop - start:
                    raise ValueError(
                        f"{self.name}: {len(values)} values for {stop - start} elements"
                    )
                self._set_values(start, values)
            else:
                self._set_values(key, [value])  # type: ignore[arg-type]

    # ---- storage: a tag's memory, or this attribute's own values ----------------------------
    def _get_values(self, start: int, count: int) -> list[Any]:
        if self._data is None and self._tag is not None:
            return self._tag.get_elements(start, count)  # type: ignore[no-any-return]
        if self._data is not None:
            size = self.size or 0
            return self.parser.decode(memoryview(self._data)[start * size : (start + count) * size])
        assert self._values is not None
        return self._values[start : start + count]

    def _set_values(self, start: int, values: list[Any]) -> None:
        if self._data is None and self._tag is not None:
            self._tag.set_elements(start, values)
            return
        encoded = self.parser.encode(values)
        if self._data is not None:
            size = self.size or 0
            self._data[start * size : start * size + len(encoded)] = encoded
        else:
            assert self._values is not None
            self._values[start : start + len(values)] = self.parser.decode(encoded)

    def read_bytes(self, start: int, count: int) -> bytes:
        """The wire image of elements ``[start, start+count)`` (no bounds check beyond slicing)."""
        with self._lock:
            if self._data is not None:
                size = self.size or 0
                return bytes(self._data[start * size : (start + count) * size])
            return self.parser.encode(self._get_values(start, count))

    def modify_bits(self, index: int, or_mask: int, and_mask: int) -> None:
        """Read-modify-write one integer element: ``new = (old | or_mask) & and_mask``."""
        with self._lock:
            old = self[index]
            width = (self.size or 1) * 8
            raw = (int(old) & ((1 << width) - 1) | or_mask) & and_mask
            lo = self.parser.min
            if lo is not None and lo < 0 and raw >= 1 << (width - 1):
                raw -= 1 << width
            self[index] = raw
