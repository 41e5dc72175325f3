"""The Logix tag services on tag memory: request data in, encoded CIP reply out (pure, no I/O).

Read Tag 0x4C, Read Tag Fragmented 0x52, Write Tag 0x4D, Write Tag Fragmented 0x53 and
Read-Modify-Write 0x4E on a resolved :class:`~.location.Location`: a whole tag, elements, a
structure (type ``A0 02`` + its handle), a member, a BOOL member (a bit). The request data and
the reply are the codec's (:mod:`~cpppo.server.enip.codec.tags`); the memory is read and
written through the Location (so a presenter with its own item access sees every element).

Errors are the statuses a controller answers with: more elements than there are, or an offset
beyond them, GENERAL_ERROR + BEYOND_END_OF_OBJECT; a type that does not fit GENERAL_ERROR +
DATA_TYPE_MISMATCH; not enough data NOT_ENOUGH_DATA; too much TOO_MUCH_DATA; a reply that does
not fit REPLY_DATA_TOO_LARGE, or PARTIAL_TRANSFER with the part that does.

Public API:
    TAG_SERVICES                     the service codes served here.
    TagServices()                    ``.serve(service, loc, data, max_reply) -> bytes``;
                                     ``.on_access`` (an AccessHook, called for every read and
                                     write when set), ``.on_failure`` (a FailureHook, called
                                     for every one refused when set) and ``.write_guard`` (a
                                     WriteGuard, asked before every write when set).
    AccessHook, FailureHook, WriteGuard   the hooks' signatures.
    ReadPlan, plan_read(loc, data)   a Read Tag answered again without decoding it: the reply
                                     head and the memory slice (None when a read cannot be
                                     planned); ``plan.reply()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from ..codec.cip import Service, encode_reply
from ..codec.status import CipStatusError, ExtStatus, Status
from ..codec.tags import (
    decode_read_modify_write,
    decode_read_tag,
    decode_read_tag_fragmented,
    decode_write_tag,
    decode_write_tag_fragmented,
)
from ..codec.types import TYPES_BY_CODE
from .atomic import CipString
from .codec_view import codec_for
from .convert import write_data
from .errors import TagValueError
from .location import Location

__all__ = [
    "TAG_SERVICES",
    "AccessHook",
    "FailureHook",
    "ReadPlan",
    "TagServices",
    "WriteGuard",
    "plan_read",
]

log = logging.getLogger("enip.lgx")

#: ``hook(tag, first_element, values, kind)`` with kind "read" or "write" (for ``--print``);
#: for a part of an element (a member, a bit) ``tag`` is its Location (``.name`` is the path).
AccessHook = Callable[[Any, int, list, str], None]
#: ``hook(location, kind, status)``: a tag read or write (kind "read" or "write") was answered
#: with the CIP general ``status`` (an error: not success nor a partial transfer).
FailureHook = Callable[[Location, str, int], None]
#: ``guard(location, count) -> status``: a nonzero status refuses a write with that status.
WriteGuard = Callable[[Location, int], int]

#: The Logix tag services (they reach a tag even on an ``@class/instance/attribute`` path).
TAG_SERVICES = frozenset(
    {
        Service.READ_TAG,
        Service.READ_TAG_FRAGMENTED,
        Service.WRITE_TAG,
        Service.WRITE_TAG_FRAGMENTED,
        Service.READ_MODIFY_WRITE,
    }
)


def _reply(service: int, status: int, ext: tuple[int, ...] = ()) -> bytes:
    return encode_reply(service, status, ext)


def _mismatch(service: int) -> bytes:
    return _reply(service, Status.GENERAL_ERROR, (ExtStatus.DATA_TYPE_MISMATCH,))


def _beyond(service: int) -> bytes:
    return _reply(service, Status.GENERAL_ERROR, (ExtStatus.BEYOND_END_OF_OBJECT,))


class ReadPlan(NamedTuple):
    """A whole-reply Read Tag of a built-in fixed-size tag, answered again as is: the reply
    head (status and type) and a view of the memory of the elements read (a tag's memory never
    changes size, so the view stays valid while the tag lives)."""

    attribute: Any
    head: bytes
    view: memoryview
    size: int

    def reply(self) -> bytes:
        """The reply: its head and the current memory of the elements read."""
        return self.head + self.view


def plan_read(loc: Location, data: memoryview) -> ReadPlan | None:
    """The plan of a Read Tag of ``loc`` with request ``data`` that just succeeded, or None when
    the next identical request must be served in full (a bit, a variable-size type, a presenter
    with its own item access)."""
    attribute = loc.tag.attribute
    if loc.bit is not None or loc.data_type.variable or len(data) != 2:
        return None
    if attribute.is_blocking or attribute.custom_access:
        return None
    count = decode_read_tag(data).elements
    start = loc.offset
    view = memoryview(loc.tag.data)[start : start + count * loc.data_type.size]
    head = encode_reply(Service.READ_TAG, Status.SUCCESS, (), loc.type_bytes)
    return ReadPlan(attribute, head, view, len(head) + len(view))


def _fit_variable(
    codec: Any, values: list, encoded: bytes, offset: int, room: int
) -> tuple[bytes | None, bool]:
    """Variable-size values: whole elements from ``offset`` that fit in ``room`` bytes."""
    if len(encoded) - offset <= room:
        return encoded[offset:], True
    end = 0
    cut = offset
    for value in values:
        end += len(codec.encode([value]))
        if end <= offset:
            continue
        if end - offset > room:
            break
        cut = end
    if cut == offset:
        return None, False
    return encoded[offset:cut], False


_READS = frozenset({Service.READ_TAG, Service.READ_TAG_FRAGMENTED})
_ANSWERED = frozenset({Status.SUCCESS, Status.PARTIAL_TRANSFER})


class TagServices:
    """The tag services of one controller, with its access hook and write guard."""

    def __init__(self) -> None:
        #: Called for every tag read/write when set (``--print``).
        self.on_access: AccessHook | None = None
        #: Called for every tag read/write refused, when set (history records them).
        self.on_failure: FailureHook | None = None
        #: Asked before each tag write when set; a nonzero status is answered instead.
        self.write_guard: WriteGuard | None = None

    def serve(self, service: int, loc: Location, data: memoryview, max_reply: int) -> bytes:
        """Serve tag ``service`` on ``loc``; the encoded reply fits ``max_reply`` bytes."""
        reply = self._serve(service, loc, data, max_reply)
        if self.on_failure is not None and reply[2] not in _ANSWERED:
            kind = "read" if service in _READS else "write"
            try:
                self.on_failure(loc, kind, reply[2])
            except Exception as exc:  # recording must never fail a request
                log.debug("failure hook failed: %s", exc)
        return reply

    def _serve(self, service: int, loc: Location, data: memoryview, max_reply: int) -> bytes:
        try:
            if service == Service.READ_TAG:
                return self._read(service, loc, data, max_reply, False)
            if service == Service.READ_TAG_FRAGMENTED:
                return self._read(service, loc, data, max_reply, True)
            if service == Service.WRITE_TAG:
                return self._write(service, loc, data)
            if service == Service.WRITE_TAG_FRAGMENTED:
                return self._write_fragment(service, loc, data)
            if service == Service.READ_MODIFY_WRITE:
                return self._read_modify_write(service, loc, data)
            return _reply(service, Status.SERVICE_NOT_SUPPORTED)
        except CipStatusError as exc:  # bad request data, a path beyond the tag
            return _reply(service, exc.status or Status.NOT_ENOUGH_DATA, exc.ext_status)
        except IndexError:  # a presenter's items refused the range
            return _beyond(service)

    # ---- hooks ----------------------------------------------------------------------------
    def _report(self, loc: Location, values: list, kind: str) -> None:
        hook = self.on_access
        if hook is None:
            return
        try:
            if loc.aligned:
                hook(loc.tag, loc.offset // loc.tag.element_size, list(values), kind)
            else:
                hook(loc, 0, list(values), kind)
        except Exception as exc:  # printing must never fail a request
            log.debug("access hook failed: %s", exc)

    def _refused(self, loc: Location, count: int) -> int:
        guard = self.write_guard
        return 0 if guard is None else guard(loc, count)

    # ---- reads ----------------------------------------------------------------------------
    def _read(
        self, service: int, loc: Location, data: memoryview, max_reply: int, fragmented: bool
    ) -> bytes:
        if fragmented:
            count, offset = decode_read_tag_fragmented(data)
        else:
            count, offset = decode_read_tag(data).elements, 0
        if count > loc.count or count == 0:
            return _beyond(service)
        attribute = loc.tag.attribute
        if attribute.error:
            return _reply(service, attribute.error)
        type_bytes = loc.type_bytes
        room = max_reply - 4 - len(type_bytes)
        dtype = loc.data_type
        if isinstance(dtype, CipString):
            values = loc.values(count)
            encoded = dtype.cip.encode(values)
            if offset > len(encoded):
                return _beyond(service)
            body, done = _fit_variable(dtype.cip, values, encoded, offset, room)
            if body is None:
                return _reply(service, Status.REPLY_DATA_TOO_LARGE)
            if self.on_access is not None:
                self._report(loc, values, "read")
        else:
            size = loc.span(1)
            total = count * size
            if offset > total or (offset == total and total):
                return _beyond(service)
            # A partial reply holds whole atomic elements; a structure larger than the reply
            # goes in 4-byte multiples (the client asks for the rest from where it ended).
            unit = 4 if dtype.is_struct and size > room else size
            if room < unit and room < total - offset:
                return _reply(service, Status.REPLY_DATA_TOO_LARGE)
            chunk = total - offset
            if chunk > room:
                chunk = room - room % unit if room >= unit else room
            body = loc.image(count, offset, chunk)
            done = offset + chunk >= total
            if self.on_access is not None and offset == 0 and done:
                self._report(loc, codec_for(dtype).decode(body, count), "read")
        status = Status.SUCCESS if done else Status.PARTIAL_TRANSFER
        return encode_reply(service, status, (), type_bytes + body)

    # ---- writes ---------------------------------------------------------------------------
    def _store(self, service: int, loc: Location, count: int, stored: Any) -> bytes:
        """Store converted data (or answer why not) and report it."""
        if loc.tag.attribute.error:
            return _reply(service, loc.tag.attribute.error)
        if count:
            try:
                loc.store(count, stored)
            except TagValueError:
                return _mismatch(service)
            if self.on_access is not None:
                values = stored
                if isinstance(stored, bytes):
                    values = codec_for(loc.data_type).decode(stored, count)
                self._report(loc, values, "write")
        return _reply(service, Status.SUCCESS)

    def _write(self, service: int, loc: Location, data: memoryview) -> bytes:
        request = decode_write_tag(data)
        count = request.elements
        if count > loc.count:
            return _beyond(service)
        refused = self._refused(loc, count)
        if refused:
            return _reply(service, refused)
        try:
            stored = write_data(loc, count, request.code, request.handle, request.data)
        except CipStatusError:
            raise
        except ValueError:
            return _mismatch(service)
        return self._store(service, loc, count, stored)

    def _write_fragment(self, service: int, loc: Location, data: memoryview) -> bytes:
        request = decode_write_tag_fragmented(data)
        count, offset, chunk = request.elements, request.offset, request.data
        if count > loc.count or count == 0:
            return _beyond(service)
        refused = self._refused(loc, count)
        if refused:
            return _reply(service, refused)
        attribute = loc.tag.attribute
        dtype = loc.data_type
        same = request.code == dtype.code and request.handle == getattr(dtype, "handle", None)
        if same and isinstance(dtype, CipString):
            return self._write_variable_fragment(service, loc, dtype, count, offset, chunk)
        size = loc.span(1)
        if same and not attribute.custom_access:
            if offset + len(chunk) > count * size:
                return _reply(service, Status.TOO_MUCH_DATA)
            if attribute.error:
                return _reply(service, attribute.error)
            loc.patch(offset, chunk)
            if self.on_access is not None and offset % size == 0 and len(chunk) % size == 0:
                n = len(chunk) // size
                first = Location(
                    loc.tag, loc.offset + offset, dtype, loc.name, (), loc.count, loc.bit
                )
                self._report(first, codec_for(dtype).decode(bytes(chunk), n), "write")
            return _reply(service, Status.SUCCESS)
        # Whole elements only: convert them, or hand them to a presenter as values.
        source: Any = codec_for(dtype) if same else TYPES_BY_CODE.get(request.code)
        source_size = getattr(source, "size", None)
        if source is None or not source_size or offset % source_size or len(chunk) % source_size:
            return _mismatch(service) if not same else _reply(service, Status.INVALID_PARAMETER)
        first_index, n = offset // source_size, len(chunk) // source_size
        if first_index + n > count:
            return _reply(service, Status.TOO_MUCH_DATA)
        part = loc.element(first_index)
        try:
            stored = write_data(part, n, request.code, request.handle, chunk)
        except CipStatusError:
            raise
        except ValueError:
            return _mismatch(service)
        return self._store(service, part, n, stored)

    def _write_variable_fragment(
        self,
        service: int,
        loc: Location,
        dtype: CipString,
        count: int,
        offset: int,
        chunk: bytes | memoryview,
    ) -> bytes:
        """A fragment of variable-size elements (SSTRING): whole elements starting at an
        element boundary of the wire image (offset 0 is the first element)."""
        at, index = 0, 0
        if offset:
            for value in loc.values(count):
                if at >= offset:
                    break
                at += len(dtype.cip.encode([value]))
                index += 1
        if at != offset:
            return _reply(service, Status.INVALID_PARAMETER)
        try:
            values, used = dtype.wire_split(chunk)
        except TagValueError:
            return _mismatch(service)
        if used != len(chunk):
            return _reply(service, Status.INVALID_PARAMETER)
        if index + len(values) > count:
            return _reply(service, Status.TOO_MUCH_DATA)
        return self._store(service, loc.element(index), len(values), values)

    def _read_modify_write(self, service: int, loc: Location, data: memoryview) -> bytes:
        request = decode_read_modify_write(data)
        loc = loc.scalar()
        dtype = loc.data_type
        if loc.bit is None and not (dtype.is_integer or dtype.is_bool):
            return _mismatch(service)
        if request.size > loc.span(1):
            return _mismatch(service)
        refused = self._refused(loc, 1)
        if refused:
            return _reply(service, refused)
        if loc.tag.attribute.error:
            return _reply(service, loc.tag.attribute.error)
        try:
            loc.read_modify_write(request.size, request.or_mask, request.and_mask)
        except TagValueError:
            return _mismatch(service)
        if self.on_access is not None:
            self._report(loc, loc.values(1), "write")
        return _reply(service, Status.SUCCESS)
