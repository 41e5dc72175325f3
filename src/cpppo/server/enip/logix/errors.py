"""The errors of the Logix data model.

Public API:
    MAX_DATA_SIZE                    largest structure or tag memory accepted (bytes).
    LayoutError(ValueError)          a structure definition that cannot be laid out (names the
                                     member); UnknownTypeError(LayoutError) has ``.type_name``.
    TagValueError(ValueError)        a value that does not fit its type (names the element).
    TagPathError(LookupError)        an access path that does not resolve; ``.status`` (CIP
                                     general status) and ``.ext_status`` tell a server what to
                                     answer (0x04 unknown tag/member or bad syntax, 0x05 index
                                     out of range, 0xFF + 0x2105 beyond the end of the tag).
    TagDBError(ValueError)           a tag database that cannot be built as asked (duplicate
                                     names, bad definitions, bad files).
"""

from __future__ import annotations

__all__ = [
    "MAX_DATA_SIZE",
    "LayoutError",
    "TagDBError",
    "TagPathError",
    "TagValueError",
    "UnknownTypeError",
]

#: Largest structure or tag memory accepted (bytes): bounds what a definition file can allocate.
MAX_DATA_SIZE = 16 * 1024 * 1024


class LayoutError(ValueError):
    """A structure definition that cannot be laid out; the message names the member."""


class UnknownTypeError(LayoutError):
    """A member (or tag) names a data type that is not defined; ``.type_name`` says which."""

    def __init__(self, message: str, type_name: str) -> None:
        super().__init__(message)
        self.type_name = type_name


class TagValueError(ValueError):
    """A value that does not fit its data type; the message names the element."""


class TagPathError(LookupError):
    """An access path that does not resolve.

    ``status`` is the CIP general status a controller answers with (0x04 path segment error for an
    unknown tag or member, 0x05 path destination unknown for an index out of range, 0xFF with
    extended status 0x2105 for an access beyond the end of the tag).
    """

    def __init__(self, message: str, status: int = 0x04, ext_status: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.ext_status = tuple(ext_status)

    def __str__(self) -> str:
        return str(self.args[0])


class TagDBError(ValueError):
    """A tag database that cannot be built as asked (duplicate name, bad definition or file)."""
