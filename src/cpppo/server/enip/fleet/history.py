"""``enip_fleet --history DIR``: each device's tag I/O recorded as ``historize`` records it.

:class:`FleetHistory` gives every EtherNet/IP device of a fleet its own history file,
``DIR/<device name>.hst`` (a :mod:`cpppo.history` file, rotated), holding one record per tag read
or write, keyed ``[tag, [first, last]]`` with the payload ``{"read": [...]}`` or
``{"write": [...]}`` -- the records of :mod:`~..examples.historize`, which ``enip_server --replay
FILE`` serves again. Every file (each rotated one too) begins with the type header
(:mod:`cpppo.history.header`) naming all the device's tags, so any one of them replays alone.

Records come from the controller's access hook (``Controller.on_access``), not from a
historizing Attribute: the hook runs inline with the tag service on the event loop, where a
custom Attribute would send every access of the device to a worker thread. Each record is one
``write()`` to the file. An access refused (beyond the tag, a type mismatch, a forced error)
is recorded as historize records a failure: a comment naming the tag and the CIP status (from
the tag services' failure hook). Modbus devices are not recorded: the Modbus simulator has no
hook for its register I/O.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from cpppo.history import logger
from cpppo.history.header import header_text

from ..codec.status import status_text
from ..logix.services import AccessHook
from .devices import FleetDevice

__all__ = ["FleetHistory", "HeaderLogger", "comment_lines", "device_types", "file_name"]

log = logging.getLogger("enip.fleet")

#: Default size (bytes) at which a device's history rotates.
ROTATE_BYTES = 64 << 20
#: Default number of rotated files kept per device.
KEEP = 10

_UNSAFE = re.compile(r"[^A-Za-z0-9._~-]")


def file_name(name: str) -> str:
    """``name`` made a safe file name (no separators, not hidden): ``<safe name>.hst``."""
    safe = _UNSAFE.sub("_", name)
    if not safe or safe.startswith("."):
        safe = "_" + safe
    return safe + ".hst"


def comment_lines(text: str) -> bytes:
    """``text`` as history comment lines (``# `` before each line), encoded."""
    return "".join(f"# {line}\n" for line in text.splitlines()).encode()


class HeaderLogger(logger):
    """A :class:`cpppo.history.logger` that starts each file it opens (the first, and each one
    after a rotation) with ``header`` (comment lines: text, or :func:`comment_lines` already),
    so every rotated file stands alone. A file holding nothing but its header is not rotated."""

    def __init__(self, path: str | os.PathLike[str], header: str | bytes, **kwds: Any) -> None:
        self._header = header if isinstance(header, bytes) else comment_lines(header)
        self._bare = 0  # the size of the file while it holds only the header
        super().__init__(path, **kwds)

    def _open(self) -> None:
        super()._open()
        if self._header:
            empty = not self._size
            self._write(self._header)
            self._bare = self._size if empty else 0

    def _due(self, us: int, size: int) -> bool:
        if self._size <= self._bare:
            return False
        return super()._due(us, size)


def _plain(value: Any) -> Any:
    """``value`` with what JSON cannot hold made plain: bytes as lists of ints, tuples as lists,
    mappings' keys as strings, anything else as its ``str``."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return list(bytes(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def device_types(device: FleetDevice) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    """``((tag, type name, dims), ...)`` of every base tag of ``device``'s controller."""
    controller = device.controller
    if controller is None:
        return ()
    return tuple(
        (tag.qualified_name, tag.data_type.name, tuple(tag.dims)) for tag in controller.tags
    )


class FleetHistory:
    """Record each attached device's tag I/O in ``directory`` (see the module docstring).

    ``rotate_bytes`` / ``rotate_age`` (seconds or a duration such as ``"1d"``) / ``keep`` /
    ``compress``: each device's :class:`cpppo.history.logger` rotation. ``attach`` is the
    :class:`~.server.FleetServer` ``on_device`` callback; ``close`` closes every file.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        rotate_bytes: int | None = ROTATE_BYTES,
        rotate_age: float | str | None = None,
        keep: int | None = KEEP,
        compress: str | None = "gz",
    ) -> None:
        self.directory = os.fspath(directory)
        self.options: dict[str, Any] = {
            "rotate_bytes": rotate_bytes,
            "rotate_age": rotate_age,
            "keep": keep,
            "compress": compress,
        }
        #: Device name -> its history file's logger.
        self.loggers: dict[str, logger] = {}
        self._paths: set[str] = set()
        self._hooks: list[tuple[Any, AccessHook, AccessHook | None]] = []
        #: Header lines by the tags they name: the devices of one tag source share one.
        self._headers: dict[tuple, bytes] = {}

    def path(self, device: FleetDevice) -> str | None:
        """The history file of ``device`` (None if it is not recorded)."""
        history = self.loggers.get(device.name)
        return None if history is None else history.path

    def _unique(self, name: str) -> str:
        base = file_name(name)
        path = os.path.join(self.directory, base)
        number = 1
        while path in self._paths:
            number += 1
            path = os.path.join(self.directory, f"{base[:-4]}-{number}.hst")
        self._paths.add(path)
        return path

    def attach(self, device: FleetDevice) -> None:
        """Record ``device``'s tag reads and writes in its own file (a Modbus device: nothing).

        OSError if the directory or the file cannot be made."""
        controller = device.controller
        if controller is None:
            log.info("%s (%s): %s devices' I/O is not recorded", device.name, device.key,
                     device.kind)  # fmt: skip
            return
        if device.name in self.loggers:
            raise ValueError(f"{device.name}: already recorded")
        os.makedirs(self.directory, exist_ok=True)
        types = device_types(device)
        header = self._headers.get(types)
        if header is None:
            text = header_text({name: (kind, dims) for name, kind, dims in types}) if types else ""
            header = self._headers[types] = comment_lines(text)
        history = HeaderLogger(self._unique(device.name), header, **self.options)
        self.loggers[device.name] = history
        history.comment(f"Started recording device {device.name} ({device.key}, {device.kind}):"
                        f" {len(types)} tag{'' if len(types) == 1 else 's'}")  # fmt: skip
        previous = controller.on_access
        write = history.write

        def hook(tag: Any, index: int, values: list, kind: str) -> None:
            name = getattr(tag, "qualified_name", None) or tag.name
            key = [name, [index, index + max(len(values), 1) - 1]]
            try:
                try:
                    write(key, {kind: values})
                except TypeError:  # values JSON cannot hold (bytes, a structure's parts)
                    write(key, {kind: _plain(values)})
            except (OSError, ValueError) as exc:
                log.debug("%s: not recorded: %s", history.path, exc)
            if previous is not None:
                previous(tag, index, values, kind)

        def refused(loc: Any, kind: str, status: int) -> None:
            name = getattr(loc, "qualified_name", None) or loc.name
            try:
                history.comment(
                    f"PLC I/O {kind.title():<5} Tag {name:>20} Exception: status 0x{status:02X}"
                    f" ({status_text(status)})"
                )
            except (OSError, ValueError) as exc:
                log.debug("%s: not recorded: %s", history.path, exc)

        controller.on_access = hook
        controller.services.on_failure = refused
        self._hooks.append((controller, hook, previous))

    def close(self) -> None:
        """Unhook every device and close its file (waiting for a rotated file's compression)."""
        for controller, hook, previous in reversed(self._hooks):
            if controller.on_access is hook:
                controller.on_access = previous
            controller.services.on_failure = None
        self._hooks.clear()
        for history in self.loggers.values():
            try:
                history.close()
            except OSError as exc:
                log.warning("%s: %s", history.path, exc)

    def __enter__(self) -> FleetHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
