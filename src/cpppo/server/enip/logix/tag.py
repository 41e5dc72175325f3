"""Tags: base tags owning their memory, and alias tags naming another tag's memory.

Public API:
    Tag(name, data_type, dims=(), *, program=None, data=None, external_access="Read/Write",
        constant=False, instance_id=None, packed_bools=True)
                                     a base tag owning its memory (``.data``);
                                     ``.elements``, ``.get_elements(start, count)``,
                                     ``.set_elements(start, values)`` (a BOOL array's BOOLs);
                                     ``.attribute`` (set by a simulator, or made on first
                                     read by the factory ``.present(factory)`` gives);
                                     ``.fork()`` a tag sharing this one's TagShape with its
                                     own copy of the memory
    TagShape                         what a tag and its forks share (name, type, dims, ...)
    AliasTag(name, alias_for, *, program=None, ...)  a tag that names another tag's data
    AnyTag                           Tag | AliasTag
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

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

__all__ = ["AliasTag", "AnyTag", "Tag", "TagShape"]

_BOOL = ATOMIC_TYPES["BOOL"]


def qualified_name(name: str, program: str | None) -> str:
    """``Program:<program>.<name>`` for a program tag, else the name."""
    return f"Program:{program}.{name}" if program else name


class TagShape:
    """What a tag and its forks share: name, scope, type, dimensions, access and layout.

    Immutable once its tag is in a tag database, except ``address``, the symbol address the
    database that first holds the tag gives it (forks of that database keep it).
    """

    __slots__ = (
        "address", "bools", "constant", "data_type", "description", "dims", "external_access",
        "name", "packed_bools", "program", "qualified_name", "storage_count", "storage_type",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        data_type: DataType,
        dims: Sequence[int],
        program: str | None,
        external_access: str,
        constant: bool,
        description: str | None,
        packed_bools: bool,
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
        #: ``Program:<program>.<name>`` for a program tag, else the name.
        self.qualified_name = qualified_name(name, program)
        self.data_type = data_type
        self.dims: tuple[int, ...] = dims
        self.external_access = external_access
        self.constant = constant
        self.description = description
        self.address = 0
        self.storage_type: DataType
        self.storage_count: int
        self.bools: int | None
        self.storage_type, self.storage_count, self.bools = storage_of(
            data_type, dims, packed_bools
        )


_PRESENTER_LOCK = threading.RLock()


class Tag:
    """A base tag: a name, a data type, up to 3 dimensions and the memory holding its value.

    A BOOL array is stored as DWORDs (its length is rounded up to a multiple of 32, as Studio
    5000 does), unless ``packed_bools`` is False: then it is one byte per BOOL, as the original
    cpppo's command-line ``BOOL[n]`` tags are. ``data`` is the tag's memory image (a bytearray,
    the only copy of its value), ``value`` its Python value. ``attribute`` is the
    :class:`~.attribute.Attribute` a simulator presents the tag through (None outside one): set
    it, or give the tag a factory with :meth:`present` that makes it when it is first read.
    Everything but the memory, the instance id and the presenter is the tag's :class:`TagShape`
    (``shape``), which :meth:`fork` shares.
    """

    __slots__ = ("_presenter", "_root", "attribute", "data", "instance_id", "shape")

    is_alias = False
    attribute: Any

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
        shape = TagShape(
            name, data_type, dims, program, external_access, constant, description, packed_bools
        )
        self.shape = shape
        self.instance_id = instance_id
        self._presenter: Callable[[Tag], Any] | None = None
        self._root: Location | None = None
        size = shape.storage_type.size * shape.storage_count
        if size > MAX_DATA_SIZE:
            raise ValueError(f"tag {name}: {size} bytes exceed the {MAX_DATA_SIZE} limit")
        if data is None:
            self.data = bytearray(size)
        else:
            if len(data) != size:
                raise ValueError(f"tag {name}: {len(data)} bytes of data, its type needs {size}")
            self.data = bytearray(data)

    def fork(self) -> Tag:
        """A tag of the same shape and instance id with its own copy of this one's memory (no
        presenter)."""
        tag = Tag.__new__(Tag)
        tag.shape = self.shape
        tag.instance_id = self.instance_id
        tag._presenter = None
        tag._root = None
        tag.data = bytearray(self.data)
        return tag

    # -- the presenter (a simulator's Attribute), made when first asked for -------------------

    if not TYPE_CHECKING:  # (to mypy, __getattr__ would make every attribute name valid)

        def __getattr__(self, name: str) -> Any:
            # Reached only while the ``attribute`` slot is unset (or for a name Tag lacks).
            if name != "attribute":
                raise AttributeError(f"'Tag' object has no attribute {name!r}")
            with _PRESENTER_LOCK:
                try:
                    return _ATTRIBUTE.__get__(self, Tag)
                except AttributeError:
                    pass
                factory = self._presenter
                attribute = None if factory is None else factory(self)
                if attribute is not None:
                    self.attribute = attribute
                return attribute

    @property
    def presented(self) -> bool:
        """True when the tag has a presenter (an ``attribute``) or a factory making one."""
        if self._presenter is not None:
            return True
        try:
            return _ATTRIBUTE.__get__(self, Tag) is not None
        except AttributeError:
            return False

    def present(self, factory: Callable[[Tag], Any]) -> None:
        """Have ``factory(tag)`` make the tag's ``attribute`` when it is first read."""
        self._presenter = factory

    # -- the shape's fields ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The tag's name (without its program)."""
        return self.shape.name

    @property
    def program(self) -> str | None:
        """The program whose scope holds the tag (None: the controller scope)."""
        return self.shape.program

    @property
    def data_type(self) -> DataType:
        """The tag's data type (of one element)."""
        return self.shape.data_type

    @property
    def dims(self) -> tuple[int, ...]:
        """Up to 3 dimensions (a Logix BOOL array's rounded up to a multiple of 32)."""
        return self.shape.dims

    @property
    def external_access(self) -> str:
        """``Read/Write``, ``Read Only`` or ``None``."""
        return self.shape.external_access

    @property
    def constant(self) -> bool:
        """True for a constant tag."""
        return self.shape.constant

    @property
    def description(self) -> str | None:
        """The tag's description, if any."""
        return self.shape.description

    @property
    def packed_bools(self) -> bool:
        """False for the original cpppo's byte-per-BOOL arrays."""
        return self.shape.packed_bools

    @property
    def storage_type(self) -> DataType:
        """The type of one element of memory (DWORD for a Logix BOOL array)."""
        return self.shape.storage_type

    @property
    def storage_count(self) -> int:
        """Elements of memory."""
        return self.shape.storage_count

    @property
    def bools(self) -> int | None:
        """BOOLs of a Logix BOOL array (None for any other tag)."""
        return self.shape.bools

    @property
    def address(self) -> int:
        """The symbol address a tag database gave the tag (0 outside one)."""
        return self.shape.address

    def __repr__(self) -> str:
        dims = f"[{','.join(map(str, self.dims))}]" if self.dims else ""
        return f"<Tag {self.qualified_name}: {self.data_type.name}{dims}>"

    @property
    def qualified_name(self) -> str:
        """``Program:<program>.<name>`` for a program tag, else the name."""
        return self.shape.qualified_name

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
        root = self._root
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


_ATTRIBUTE = Tag.__dict__["attribute"]  # the slot's descriptor (reads it unset: AttributeError)

AnyTag = Tag | AliasTag
