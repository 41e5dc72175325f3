"""The controller's tag table and the resolution of tag paths to (tag, element, byte offset).

A :class:`Tag` joins a name, a data type (an atomic CIP type class, or any object with the same
``code``/``handle``/``size``/``encode``/``decode`` interface such as a structure type), dimensions,
a Symbol instance id and the :class:`Attribute` holding its value bytes. :func:`resolve` turns the
segments of a request path -- ``[{'symbolic': 'T'}, {'element': 3}, ...]`` or the instance form
``[{'class': 0x6B}, {'instance': n}, ...]`` -- into an :class:`Access`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .attribute import Attribute
from .codec.cip import ExtStatus, Status
from .codec.tags import encode_type

__all__ = ["SYMBOL_CLASS", "Access", "Failure", "Tag", "TagTable", "linear_index"]

#: The Symbol object class: ``20 6B 24 <id>`` addresses a tag by its instance id.
SYMBOL_CLASS = 0x6B


@dataclass(eq=False)
class Tag:
    """A controller tag: name, data type, dimensions, Symbol instance id and value store."""

    name: str
    datatype: Any
    attribute: Attribute
    instance: int
    dims: tuple[int, ...] = ()
    type_bytes: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.type_bytes = encode_type(self.datatype.code, getattr(self.datatype, "handle", None))

    @property
    def code(self) -> int:
        """The type code as tag services carry it (0x02A0 for structures)."""
        return int(self.datatype.code)

    @property
    def handle(self) -> int | None:
        """The structure handle, or None for an atomic type."""
        return getattr(self.datatype, "handle", None)

    @property
    def size(self) -> int | None:
        """Bytes per element (None for variable-size types such as SSTRING)."""
        return self.datatype.size  # type: ignore[no-any-return]

    @property
    def elements(self) -> int:
        """Total number of elements (1 for a scalar)."""
        return self.attribute.elements


class Access(NamedTuple):
    """A resolved tag path: the tag, the first element addressed, and how many follow it."""

    tag: Tag
    index: int
    available: int


def linear_index(indices: Sequence[int], dims: Sequence[int]) -> int:
    """Row-major linear index of ``indices`` within ``dims`` (missing trailing indices are 0).

    Raises IndexError when an index is outside its dimension.
    """
    index = 0
    for i, dim in enumerate(dims):
        value = indices[i] if i < len(indices) else 0
        if not 0 <= value < dim:
            raise IndexError(value)
        index = index * dim + value
    return index


class Failure(NamedTuple):
    """A path that cannot be served: the status (and extended status) to answer with."""

    status: int
    ext_status: tuple[int, ...] = ()


class TagTable:
    """Tags by case-insensitive name and by Symbol instance id."""

    def __init__(self) -> None:
        self._by_name: dict[str, Tag] = {}
        self._by_instance: dict[int, Tag] = {}
        self._next_instance = 1
        #: Incremented on every change, so cached path resolutions can be dropped.
        self.version = 0

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[Tag]:
        return iter(list(self._by_name.values()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def get(self, name: str) -> Tag | None:
        """The tag called ``name`` (any case), or None."""
        return self._by_name.get(name.lower())

    def __getitem__(self, name: str) -> Tag:
        tag = self._by_name.get(name.lower())
        if tag is None:
            raise KeyError(name)
        return tag

    def by_instance(self, instance: int) -> Tag | None:
        """The tag with Symbol instance id ``instance``, or None."""
        return self._by_instance.get(instance)

    def add(self, name: str, datatype: Any, attribute: Attribute, dims: Sequence[int] = ()) -> Tag:
        """Add a tag (ValueError if the name exists); returns it with its instance id."""
        key = name.lower()
        if key in self._by_name:
            raise ValueError(f"tag {name!r} already exists")
        tag = Tag(name, datatype, attribute, self._next_instance, tuple(dims))
        self._next_instance += 1
        self._by_name[key] = tag
        self._by_instance[tag.instance] = tag
        self.version += 1
        return tag

    def remove(self, name: str) -> Tag:
        """Remove and return a tag (KeyError if absent)."""
        tag = self._by_name.pop(name.lower())
        self._by_instance.pop(tag.instance, None)
        self.version += 1
        return tag

    def resolve(self, segments: Sequence[dict]) -> Access | Failure:
        """Resolve a tag path (symbolic or Symbol-instance form) to an Access or a Failure.

        Unknown tag or instance: 0x04 (path segment error), as a Logix controller answers;
        an element outside the array: 0xFF/0x2105; anything after the elements: 0x04.
        """
        first = segments[0]
        pos = 1
        tag: Tag | None
        if "symbolic" in first:
            tag = self._by_name.get(first["symbolic"].lower())
            program = first["symbolic"].lower().startswith("program:")
            # A program-scoped tag: "Program:Main" then the tag's own name.
            if tag is None and program and len(segments) > 1 and "symbolic" in segments[1]:
                scoped = f"{first['symbolic']}.{segments[1]['symbolic']}"
                tag = self._by_name.get(scoped.lower())
                pos = 2
        else:
            tag = self._by_instance.get(segments[1].get("instance", -1))
            pos = 2
        if tag is None:
            return Failure(Status.PATH_SEGMENT_ERROR)
        indices: list[int] = []
        while pos < len(segments) and "element" in segments[pos]:
            indices.append(segments[pos]["element"])
            pos += 1
        if pos < len(segments):
            return Failure(Status.PATH_SEGMENT_ERROR)
        dims = tag.dims or (1,)
        if len(indices) > len(dims):
            return Failure(Status.PATH_SEGMENT_ERROR)
        try:
            index = linear_index(indices, dims)
        except IndexError:
            return Failure(Status.GENERAL_ERROR, (ExtStatus.BEYOND_END_OF_OBJECT,))
        return Access(tag, index, tag.elements - index)
