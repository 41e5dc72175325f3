"""Sans-IO EtherNet/IP + CIP wire formats: bytes in, plain objects out, and back.

One definition of every wire format, shared by the simulator and the client. Submodules:
``status`` (Status, ExtStatus, EncapStatus, status_text, CipStatusError), ``errors``
(DecodeError, EncodeError), ``types`` (CIP data types), ``encap`` (encapsulation header,
commands, framing, ENIP_PORT), ``cpf`` (Common Packet Format items), ``epath`` (path segments,
the route-path syntax), ``cip`` (message router requests/replies, Multiple Service Packet, and
re-exports of ``attributes`` (Get/Set Attribute List payloads), ``connection`` (Unconnected
Send, Forward Open/Close) and ``tags`` (Logix tag services, Symbol and Template records)),
``identity`` (Identity attributes as Get Attributes All and ListIdentity carry them),
``format`` (enip_format). The public names of all of them are re-exported here (the
submodules themselves are attributes of the package but not in ``__all__``, so ``import *``
never shadows ``types`` or ``format``). ``objects`` (attribute layouts of the standard objects)
is imported on its own.
"""

from . import (  # noqa: F401
    attributes,
    cip,
    connection,
    cpf,
    encap,
    epath,
    errors,
    format,
    identity,
    status,
    tags,
    types,
)
from .cip import *  # noqa: F403
from .cpf import *  # noqa: F403
from .encap import *  # noqa: F403
from .epath import *  # noqa: F403
from .errors import *  # noqa: F403
from .format import *  # noqa: F403
from .identity import *  # noqa: F403
from .status import *  # noqa: F403
from .types import *  # noqa: F403

__all__ = [
    *cip.__all__,
    *cpf.__all__,
    *encap.__all__,
    *epath.__all__,
    *errors.__all__,
    *format.__all__,
    *identity.__all__,
    *(name for name in status.__all__ if name not in cip.__all__ and name not in encap.__all__),
    *types.__all__,
]
