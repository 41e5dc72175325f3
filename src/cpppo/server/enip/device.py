"""``cpppo.server.enip.device``: the CIP object model of the simulated device (its home is
:mod:`cpppo.server.enip.sim.device`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.device`` working.
"""

from .sim.device import (
    IDENTITY_DEFAULTS,
    TCPIP,
    TCPIP_DEFAULTS,
    Attribute,
    CipError,
    CipObject,
    ClassObject,
    Context,
    Directory,
    EthernetLink,
    Identity,
    MessageRouter,
    RangeError,
    WouldBlock,
)

__all__ = [
    "IDENTITY_DEFAULTS",
    "TCPIP",
    "TCPIP_DEFAULTS",
    "Attribute",
    "CipError",
    "CipObject",
    "ClassObject",
    "Context",
    "Directory",
    "EthernetLink",
    "Identity",
    "MessageRouter",
    "RangeError",
    "WouldBlock",
]
