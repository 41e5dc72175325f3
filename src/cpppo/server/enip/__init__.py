"""EtherNet/IP CIP: the ControlLogix simulator (``python -m cpppo.server.enip``) and its parts.

``from cpppo.server.enip import device, REAL`` gives the object model (``device.Attribute``
for docs/enip-server.md's custom attributes) and the CIP data types; ``enip_format`` pretty-prints a
decoded message (docs/enip-client.md). The wire formats are in :mod:`cpppo.server.enip.codec`.
"""

from .codec.format import enip_format
from .codec.types import (
    BOOL,
    DINT,
    DWORD,
    INT,
    LINT,
    LOGIX_STRING,
    LREAL,
    LWORD,
    REAL,
    SINT,
    SSTRING,
    STRING,
    UDINT,
    UINT,
    ULINT,
    USINT,
    WORD,
    CipType,
    type_named,
)
from .sim import device

__all__ = [
    "BOOL",
    "DINT",
    "DWORD",
    "INT",
    "LINT",
    "LOGIX_STRING",
    "LREAL",
    "LWORD",
    "REAL",
    "SINT",
    "SSTRING",
    "STRING",
    "UDINT",
    "UINT",
    "ULINT",
    "USINT",
    "WORD",
    "CipType",
    "device",
    "enip_format",
    "type_named",
]
