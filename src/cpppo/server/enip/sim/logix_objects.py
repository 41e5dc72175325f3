"""A Logix controller's own CIP objects: its name (0x64), Symbol (0x6B) and Template (0x6C).

Pure (no I/O). Symbol and Template instances are the tag database's symbols and structures, so
they are not kept in the :class:`~.device.Directory`: the controller routes their paths here.

- :class:`ControllerName`: class 0x64 instance 1; Get Attributes All answers the controller's
  name as a CIP STRING (``UINT length`` + characters), as pycomm3's ``get_plc_name`` reads it.
- :func:`symbol_service`: Get Instance Attribute List 0x55 on ``[91 'Program:P'] 20 6B 24 <id>``:
  the scope's symbols with instance id >= ``id``, each ``UDINT id`` + the attributes asked for,
  as many as fit the reply (status 0x06 when more remain: ask again from the last id + 1).
- :func:`template_service`: Get Attribute List 0x03 (attributes 1 handle, 2 member count, 3, 4
  definition size in words, 5 structure size) and Read Tag 0x4C (``UDINT offset, UINT count`` of
  the definition; 0x06 when the reply cannot hold all asked for) on ``20 6C 24 <id>``.
"""

from __future__ import annotations

from ..codec.cip import Service, decode_attribute_ids, encode_reply
from ..codec.errors import DecodeError
from ..codec.status import ExtStatus, Status
from ..codec.tags import decode_template_read
from ..codec.types import STRING
from ..logix import AttributeNotSupported, TagDB, TagDBError
from .attribute import Attribute
from .device import CipError, CipObject, Context

__all__ = [
    "PROGRAM_NAME_CLASS",
    "SYMBOL_CLASS",
    "TEMPLATE_CLASS",
    "ControllerName",
    "symbol_service",
    "template_service",
]

#: Class 0x64: the controller (program) name.
PROGRAM_NAME_CLASS = 0x64
#: The Symbol object class: ``20 6B 24 <id>`` addresses a tag by its instance id.
SYMBOL_CLASS = 0x6B
#: The Template object class: one instance per structure type.
TEMPLATE_CLASS = 0x6C
#: Template attribute ids a controller answers.
_TEMPLATE_ATTRIBUTES = frozenset({1, 2, 3, 4, 5})


class ControllerName(CipObject):
    """Class 0x64, instance 1: attribute 1, the controller's name (CIP STRING)."""

    class_id = PROGRAM_NAME_CLASS
    class_name = "Controller Name"

    def __init__(self, name: str, instance_id: int = 1) -> None:
        super().__init__(instance_id)
        self.add_attribute(1, Attribute("Name", STRING, name, dims=()))


def _ids(data: memoryview) -> list[int]:
    try:
        return decode_attribute_ids(data)
    except DecodeError as exc:
        raise CipError(exc.status or Status.NOT_ENOUGH_DATA) from None


def symbol_service(
    db: TagDB, service: int, program: str | None, start: int, data: memoryview, ctx: Context
) -> bytes:
    """Serve ``service`` on the Symbol object of a scope (only 0x55 is supported)."""
    if service != Service.GET_INSTANCE_ATTRIBUTE_LIST:
        return encode_reply(service, Status.SERVICE_NOT_SUPPORTED)
    try:
        ids = _ids(data)
        body, more = db.instance_attribute_list(
            ids, program=program, start=start, max_size=ctx.max_reply - 4
        )
    except CipError as exc:
        return encode_reply(service, exc.status)
    except AttributeNotSupported:
        return encode_reply(service, Status.ATTRIBUTE_NOT_SUPPORTED)
    except KeyError:  # no such program
        return encode_reply(service, Status.PATH_DESTINATION_UNKNOWN)
    except TagDBError:  # one symbol alone does not fit the reply
        return encode_reply(service, Status.REPLY_DATA_TOO_LARGE)
    return encode_reply(service, Status.PARTIAL_TRANSFER if more else Status.SUCCESS, (), body)


def template_service(
    db: TagDB, service: int, template_id: int, data: memoryview, ctx: Context
) -> bytes:
    """Serve ``service`` on Template instance ``template_id`` (0x03 and 0x4C)."""
    try:
        template = db.template(template_id)
    except KeyError:
        return encode_reply(service, Status.PATH_DESTINATION_UNKNOWN)
    if service == Service.GET_ATTRIBUTE_LIST:
        try:
            ids = _ids(data)
        except CipError as exc:
            return encode_reply(service, exc.status)
        status = Status.SUCCESS
        if not _TEMPLATE_ATTRIBUTES.issuperset(ids):
            status = Status.ATTRIBUTE_LIST_ERROR
        return encode_reply(service, status, (), template.attribute_list(ids))
    if service == Service.READ_TAG:
        try:
            request = decode_template_read(data)
        except DecodeError as exc:
            return encode_reply(service, exc.status or Status.NOT_ENOUGH_DATA)
        room = max(ctx.max_reply - 4, 0)
        size = len(template.data)
        if request.offset > size:
            return encode_reply(service, Status.GENERAL_ERROR, (ExtStatus.BEYOND_END_OF_OBJECT,))
        chunk = template.read(request.offset, min(request.count, room))
        more = request.count > room and request.offset + len(chunk) < size
        status = Status.PARTIAL_TRANSFER if more else Status.SUCCESS
        return encode_reply(service, status, (), chunk)
    return encode_reply(service, Status.SERVICE_NOT_SUPPORTED)
