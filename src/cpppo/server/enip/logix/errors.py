"""The errors of the Logix data model.

Public API:
    MAX_DATA_SIZE                    largest structure or tag memory accepted (bytes).
    LayoutError(ValueError)          a structure definition that cannot be laid out (names the
                                     member); UnknownTypeError(LayoutError) has ``.type_name``.
    TagValueError(ValueError)        a value that does not fit its type (names the element).
    TagPathError(CipStatusError, LookupError)
                                     an access path that does not resolve; ``.status`` (CIP
                                     general status) and ``.ext_status`` tell a server what to
                                     answer: path segment error for an unknown tag or member or
                                     bad syntax, path destination unknown for an index out of
                                     range, general error + beyond end of object for an access
                                     past the end of the tag.
    TagDBError(ValueError)           a tag database that cannot be built as asked (duplicate
                                     names, bad definitions, bad files).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..codec.status import CipStatusError, Status

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


class TagPathError(CipStatusError, LookupError):
    """An access path that does not resolve, with the CIP status a controller answers.

    ``status`` is PATH_SEGMENT_ERROR for an unknown tag or member or bad syntax (the default),
    PATH_DESTINATION_UNKNOWN for an index out of range, GENERAL_ERROR with extended status
    BEYOND_END_OF_OBJECT for an access beyond the end of the tag.
    """

    status: int

    def __init__(
        self,
        message: str,
        status: int = Status.PATH_SEGMENT_ERROR,
        ext_status: Sequence[int] = (),
    ) -> None:
        super().__init__(message, status, ext_status)


class TagDBError(ValueError):
    """A tag database that cannot be built as asked (duplicate name, bad definition or file)."""
