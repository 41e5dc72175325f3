"""Status codes: the CIP general status byte, the extended status words, their text, the
encapsulation header's status, and the one exception that answers with a CIP status.

Public API:
    Status (IntEnum)        general status codes (SUCCESS 0x00 ... GENERAL_ERROR 0xFF).
    ExtStatus (IntEnum)     extended status words used by Logix and the Connection Manager
                            (0x0100 ..., 0x2105 beyond end of object, 0x2107 type mismatch).
    EncapStatus (IntEnum)   encapsulation header status: SUCCESS 0, INVALID_COMMAND 0x01,
                            NO_MEMORY 0x02, INCORRECT_DATA 0x03, INVALID_SESSION 0x64,
                            INVALID_LENGTH 0x65, UNSUPPORTED_PROTOCOL 0x69 (also exported by
                            ``codec.encap``).
    status_text(status, ext_status=()) -> str
                            human-readable text of a status and its extended words.
    CipStatusError(message, status, ext_status=())
                            base of every error that a device answers with a CIP status:
                            ``.status`` (int, or None when the layer above decides) and
                            ``.ext_status`` (tuple of extended status words).

Nothing outside ``codec/`` writes a raw status number: it names a member of these enums.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from types import MappingProxyType

__all__ = ["CipStatusError", "EncapStatus", "ExtStatus", "Status", "status_text"]


class Status(IntEnum):
    """CIP general status codes."""

    SUCCESS = 0x00
    CONNECTION_FAILURE = 0x01
    RESOURCE_UNAVAILABLE = 0x02
    INVALID_PARAMETER_VALUE = 0x03
    PATH_SEGMENT_ERROR = 0x04
    PATH_DESTINATION_UNKNOWN = 0x05
    PARTIAL_TRANSFER = 0x06
    CONNECTION_LOST = 0x07
    SERVICE_NOT_SUPPORTED = 0x08
    INVALID_ATTRIBUTE_VALUE = 0x09
    ATTRIBUTE_LIST_ERROR = 0x0A
    ALREADY_IN_REQUESTED_STATE = 0x0B
    OBJECT_STATE_CONFLICT = 0x0C
    OBJECT_ALREADY_EXISTS = 0x0D
    ATTRIBUTE_NOT_SETTABLE = 0x0E
    PRIVILEGE_VIOLATION = 0x0F
    DEVICE_STATE_CONFLICT = 0x10
    REPLY_DATA_TOO_LARGE = 0x11
    FRAGMENTATION_OF_PRIMITIVE = 0x12
    NOT_ENOUGH_DATA = 0x13
    ATTRIBUTE_NOT_SUPPORTED = 0x14
    TOO_MUCH_DATA = 0x15
    OBJECT_DOES_NOT_EXIST = 0x16
    NO_FRAGMENTATION_IN_PROGRESS = 0x17
    NO_STORED_ATTRIBUTE_DATA = 0x18
    STORE_OPERATION_FAILURE = 0x19
    REQUEST_TOO_LARGE = 0x1A
    RESPONSE_TOO_LARGE = 0x1B
    MISSING_ATTRIBUTE_LIST_ENTRY = 0x1C
    INVALID_ATTRIBUTE_VALUE_LIST = 0x1D
    EMBEDDED_SERVICE_ERROR = 0x1E
    VENDOR_SPECIFIC = 0x1F
    INVALID_PARAMETER = 0x20
    WRITE_ONCE_ALREADY_WRITTEN = 0x21
    INVALID_REPLY_RECEIVED = 0x22
    BUFFER_OVERFLOW = 0x23
    MESSAGE_FORMAT_ERROR = 0x24
    KEY_FAILURE_IN_PATH = 0x25
    PATH_SIZE_INVALID = 0x26
    UNEXPECTED_ATTRIBUTE = 0x27
    INVALID_MEMBER_ID = 0x28
    MEMBER_NOT_SETTABLE = 0x29
    GENERAL_ERROR = 0xFF


class ExtStatus(IntEnum):
    """Extended status words used by Logix and the Connection Manager."""

    DUPLICATE_FORWARD_OPEN = 0x0100
    OWNERSHIP_CONFLICT = 0x0106
    CONNECTION_NOT_FOUND = 0x0107
    INVALID_CONNECTION_TYPE = 0x0108
    INVALID_CONNECTION_SIZE = 0x0109
    RPI_NOT_SUPPORTED = 0x0111
    OUT_OF_CONNECTIONS = 0x0113
    VENDOR_OR_PRODUCT_MISMATCH = 0x0114
    CONNECTION_TIMED_OUT = 0x0203
    UNCONNECTED_SEND_TIMED_OUT = 0x0204
    PARAMETER_ERROR = 0x0205
    INVALID_PORT = 0x0311
    INVALID_LINK_ADDRESS = 0x0312
    INVALID_SEGMENT_IN_PATH = 0x0315
    BEYOND_END_OF_OBJECT = 0x2105
    DATA_TYPE_MISMATCH = 0x2107


class EncapStatus(IntEnum):
    """Encapsulation header status codes."""

    SUCCESS = 0x0000
    INVALID_COMMAND = 0x0001
    NO_MEMORY = 0x0002
    INCORRECT_DATA = 0x0003
    INVALID_SESSION = 0x0064
    INVALID_LENGTH = 0x0065
    UNSUPPORTED_PROTOCOL = 0x0069


_STATUS_TEXT = MappingProxyType(
    {
        0x00: "Success",
        0x01: "Connection failure",
        0x02: "Resource unavailable",
        0x03: "Invalid parameter value",
        0x04: "Path segment error",
        0x05: "Path destination unknown",
        0x06: "Partial transfer",
        0x07: "Connection lost",
        0x08: "Service not supported",
        0x09: "Invalid attribute value",
        0x0A: "Attribute list error",
        0x0B: "Already in requested mode/state",
        0x0C: "Object state conflict",
        0x0D: "Object already exists",
        0x0E: "Attribute not settable",
        0x0F: "Privilege violation",
        0x10: "Device state conflict",
        0x11: "Reply data too large",
        0x12: "Fragmentation of a primitive value",
        0x13: "Not enough data",
        0x14: "Attribute not supported",
        0x15: "Too much data",
        0x16: "Object does not exist",
        0x17: "Service fragmentation sequence not in progress",
        0x18: "No stored attribute data",
        0x19: "Store operation failure",
        0x1A: "Routing failure, request packet too large",
        0x1B: "Routing failure, response packet too large",
        0x1C: "Missing attribute list entry data",
        0x1D: "Invalid attribute value list",
        0x1E: "Embedded service error",
        0x1F: "Vendor specific error",
        0x20: "Invalid parameter",
        0x21: "Write-once value or medium already written",
        0x22: "Invalid reply received",
        0x23: "Buffer overflow",
        0x24: "Message format error",
        0x25: "Key failure in path",
        0x26: "Path size invalid",
        0x27: "Unexpected attribute in list",
        0x28: "Invalid member ID",
        0x29: "Member not settable",
        0xFF: "General error",
    }
)

_EXT_TEXT = MappingProxyType(
    {
        0x0100: "Connection in use or duplicate Forward Open",
        0x0106: "Ownership conflict",
        0x0107: "Target connection not found",
        0x0108: "Invalid network connection parameter",
        0x0109: "Invalid connection size",
        0x0111: "Requested RPI not supported",
        0x0113: "Out of connections",
        0x0114: "Vendor ID or product code mismatch",
        0x0203: "Connection timed out",
        0x0204: "Unconnected request timed out",
        0x0205: "Parameter error in unconnected request",
        0x0311: "Invalid port",
        0x0312: "Invalid link address",
        0x0315: "Invalid segment in connection path",
        0x2105: "Access beyond end of the object",
        0x2107: "Type mismatch: the data type in the request is not the target's",
    }
)


def status_text(status: int, ext_status: Sequence[int] = ()) -> str:
    """Human-readable text of a general status and its extended status words."""
    text = _STATUS_TEXT.get(status, f"Unknown status 0x{status:02X}")
    if ext_status:
        ext = ", ".join(
            f"0x{e:04X} {_EXT_TEXT[e]}" if e in _EXT_TEXT else f"0x{e:04X}" for e in ext_status
        )
        text = f"{text} ({ext})"
    return text


class CipStatusError(Exception):
    """An error a device answers with CIP general ``status`` and extended ``ext_status`` words."""

    def __init__(
        self, message: str = "", status: int | None = None, ext_status: Sequence[int] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.ext_status = tuple(ext_status)
