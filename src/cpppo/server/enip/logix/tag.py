"""Tags: base tags owning their memory, and alias tags naming another tag's memory.

Public API:
    Tag(name, data_type, dims=(), *, program=None, data=None, external_access="Read/Write",
        constant=False, instance_id=None, packed_bools=True)
                                     a base tag owning its memory (``.data``);
                                     ``.elements``, ``.get_elements(start, count)``,
                                     ``.set_elements(start, values)`` (a BOOL array's BOOLs);
                                     ``.attribute`` (set by a simulator)
    AliasTag(name, alias_for, *, program=None, ...)  a tag that names another tag's data
    AnyTag                           Tag | AliasTag
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..codec.status import Status
from .atomic import ATOMIC_TYPES, access_code
from .errors import MAX_DATA_SIZE, TagPathError
from .location import Location
from .structure import (
    DataType,
    decode_elements,
    decode_value,
    encode_elements,
    encode_value,
    storage_of,
)
from .symbols import symbol_type_word

__all__ = ["AliasTag", "AnyTag", "Tag"]

_BOOL = ATOMIC_TYPES["BOOL"]


def qualified_name(name: str, program: str | None) -> str:
    """``Program:<program>.<name>`` for a program tag, else the name."""
    return f"Program:{program}.{name}" if program else name


class Tag:
    """A base tag: a name, a data type, up to 3 dimensions and the memory holding its value.

    A BOOL array is stored as DWORDs (its length is rounded up to a multiple of 32, as Studio
    5000 does), unless ``packed_bools`` is False: then it is one byte per BOOL, as the original
    cpppo's command-line ``BOOL[n]`` tags are. ``data`` is the tag's memory image (a bytearray,
    the only copy of its value), ``value`` its Python value. ``attribute`` is the
    :class:`~.attribute.Attribute` a simulator presents the tag through (None outside one).
    """

    is_alias = False

    def __init__(
        self,
        name: str,
        data_type: DataType,
        dims: Sequence[int] = (),
        *,
        program: str | None = None,
        data: bytes | bytearray | None = None,
        external_access: str = "Read/Write",
        constant: bool = False,
        instance_id: int | None = None,
        description: str | None = None,
        packed_bools: bool = True,
    ) -> None:
        dims = tuple(int(d) for d in dims if d)
        if len(dims) > 3:
            raise ValueError(f"tag {name}: at most 3 dimensions, not {len(dims)}")
        if any(d < 0 for d in dims):
            raise ValueError(f"tag {name}: negative dimension in {dims}")
        self.packed_bools = packed_bools = packed_bools or data_type is not _BOOL or not dims
        if data_type is _BOOL and dims and packed_bools:
            if len(dims) != 1:
                raise ValueError(f"tag {name}: a BOOL array has one dimension")
            dims = (-(-dims[0] // 32) * 32,)
        access_code(external_access)
        self.name = name
        self.program = program
        self.data_type = data_type
        self.dims: tuple[int, ...] = dims
        self.external_access = external_access
        self.constant = constant
        self.instance_id = instance_id
        self.description = description
        self.attribute: Any = None
        self.storage_type, self.storage_count, self.bools = storage_of(
            data_type, dims, packed_bools
        )
        size = self.storage_type.size * self.storage_count
        if size > MAX_DATA_SIZE:
            raise ValueError(f"tag {name}: {size} bytes exceed the {MAX_DATA_SIZE} limit")
        if data is None:
            self.data = bytearray(size)
        else:
            if len(data) != size:
                raise ValueError(f"tag {name}: {len(data)} bytes of data, its type needs {size}")
            self.data = bytearray(data)

    def __repr__(self) -> str:
        dims = f"[{','.join(map(str, self.dims))}]" if self.dims else ""
        return f"<Tag {self.qualified_name}: {self.data_type.name}{dims}>"

    @property
    def qualified_name(self) -> str:
        """``Program:<program>.<name>`` for a program tag, else the name."""
        return qualified_name(self.name, self.program)

    @property
    def size(self) -> int:
        """Bytes of memory."""
        return len(self.data)

    @property
    def element_size(self) -> int:
        """Bytes per element (Symbol attribute 7; 4 for a BOOL array's DWORDs)."""
        return self.storage_type.size

    @property
    def symbol_dims(self) -> tuple[int, int, int]:
        """Symbol attribute 8: the 3 dimensions (a BOOL array counts DWORDs)."""
        dims = (self.storage_count,) if self.bools is not None else self.dims
        return (*dims, 0, 0, 0)[:3]  # type: ignore[return-value]

    @property
    def symbol_type(self) -> int:
        """Symbol attribute 2 (the type word)."""
        return symbol_type_word(self.storage_type, len(self.dims))

    def root(self) -> Location:
        """The location of the whole tag (made once: a tag never changes shape)."""
        root = self.__dict__.get("_root")
        if root is not None:
            return root
        root = self._root = Location(
            self, 0, self.storage_type, self.qualified_name,
            (self.storage_count,) if self.bools is not None else self.dims,
            self.storage_count, None, self.bools,
        )  # fmt: skip
        return root

    @property
    def value(self) -> Any:
        """The Python value of the whole tag (setting it replaces the whole memory image)."""
        return decode_value(self.data_type, self.data, self.dims, packed=self.packed_bools)

    @value.setter
    def value(self, value: Any) -> None:
        self.data[:] = encode_value(self.data_type, value, self.dims, packed=self.packed_bools)

    # -- elements: the tag as a flat sequence of values (what an Attribute presents) -----------

    @property
    def elements(self) -> int:
        """The number of values: BOOLs of a BOOL array, else elements of the memory."""
        return self.bools if self.bools is not None else self.storage_count

    def get_elements(self, start: int, count: int) -> list:
        """Values ``start .. start+count`` (row-major; bools for a BOOL array)."""
        if not 0 <= start <= start + count <= self.elements:
            raise TagPathError(
                f"{self.qualified_name}: elements {start}+{count} outside",
                Status.PATH_DESTINATION_UNKNOWN,
            )
        if self.bools is not None:
            raw = int.from_bytes(self.data, "little") >> start
            return [bool(raw >> i & 1) for i in range(count)]
        dtype = self.storage_type
        return decode_elements(dtype, self.data, start * dtype.size, count)

    def set_elements(self, start: int, values: Sequence) -> None:
        """Store ``values`` from element ``start`` on (TagValueError if one does not fit)."""
        values = list(values)
        if not 0 <= start <= start + len(values) <= self.elements:
            raise TagPathError(
                f"{self.qualified_name}: elements {start}+{len(values)} outside",
                Status.PATH_DESTINATION_UNKNOWN,
            )
        where = self.qualified_name
        if self.bools is not None:
            raw = int.from_bytes(self.data, "little")
            for i, item in enumerate(values, start):
                raw = raw | 1 << i if _BOOL.check(item, f"{where}[{i}]") else raw & ~(1 << i)
            self.data[:] = raw.to_bytes(len(self.data), "little")
            return
        dtype = self.storage_type
        encode_elements(dtype, self.data, start * dtype.size, len(values), values, where)


class AliasTag:
    """A tag naming (part of) another tag: reads and writes go to ``alias_for``'s memory.

    ``target`` is None until a tag database binds the alias to a Location.
    """

    is_alias = True

    def __init__(
        self,
        name: str,
        alias_for: str,
        *,
        program: str | None = None,
        external_access: str = "Read/Write",
        instance_id: int | None = None,
        description: str | None = None,
    ) -> None:
        access_code(external_access)
        self.name = name
        self.alias_for = alias_for
        self.program = program
        self.external_access = external_access
        self.instance_id = instance_id
        self.description = description
        self.constant = False
        self.target: Location | None = None

    def __repr__(self) -> str:
        return f"<AliasTag {self.qualified_name} -> {self.alias_for}>"

    @property
    def qualified_name(self) -> str:
        """``Program:<program>.<name>`` for a program tag, else the name."""
        return qualified_name(self.name, self.program)

    def _bound(self) -> Location:
        if self.target is None:
            raise TagPathError(f"alias {self.qualified_name} -> {self.alias_for} is not bound")
        return self.target

    def root(self) -> Location:
        """The location the alias names."""
        return self._bound()

    @property
    def data_type(self) -> DataType:
        """Data type of the aliased location (BOOL for a bit)."""
        return self._bound().data_type

    @property
    def dims(self) -> tuple[int, ...]:
        """Dimensions of the aliased location."""
        return self._bound().dims

    @property
    def element_size(self) -> int:
        """Bytes per element of the aliased location."""
        return self._bound().element_size

    @property
    def symbol_dims(self) -> tuple[int, int, int]:
        """Symbol attribute 8 of the aliased location."""
        return (*self._bound().dims, 0, 0, 0)[:3]  # type: ignore[return-value]

    @property
    def symbol_type(self) -> int:
        """Symbol attribute 2 of the aliased location (a bit carries its bit number)."""
        loc = self._bound()
        return symbol_type_word(loc.data_type, len(loc.dims), loc.bit or 0)

    @property
    def value(self) -> Any:
        """The Python value of the aliased location."""
        return self._bound().get()

    @value.setter
    def value(self, value: Any) -> None:
        self._bound().set(value)


AnyTag = Tag | AliasTag
