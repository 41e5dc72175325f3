"""Helpers for the Modbus tests: raw MBAP frames, and a virtual serial line for Modbus/RTU.

:class:`PtyRelay`: two pseudo-terminals joined by a relay thread.

Whatever is written to end ``a`` comes out of end ``b`` and vice versa, like a null-modem cable
(or a two-node RS-485 bus). ``inject_to_a``/``inject_to_b`` add line noise. Pure Python: no
socat, no hardware.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading

_MBAP = struct.Struct(">HHHB")


def mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    """A Modbus/TCP frame."""
    return _MBAP.pack(tid, 0, len(pdu) + 1, unit) + pdu


def recv_frame(sock: socket.socket, timeout: float = 2.0) -> bytes:
    """Exactly one MBAP frame from ``sock`` (what arrived if it closes first); socket.timeout
    if none comes."""
    sock.settimeout(timeout)
    data = b""
    wanted = 6
    while len(data) < wanted:
        chunk = sock.recv(wanted - len(data))
        if not chunk:
            return data
        data += chunk
        if len(data) == 6:
            wanted = 6 + struct.unpack_from(">H", data, 4)[0]
    return data


class PtyRelay:
    """``a`` and ``b``: device paths of the two ends; use as a context manager."""

    def __init__(self) -> None:
        import tty  # POSIX only

        self._master_a, self._slave_a = os.openpty()
        self._master_b, self._slave_b = os.openpty()
        for fd in (self._slave_a, self._slave_b):
            tty.setraw(fd)
        self.a = os.ttyname(self._slave_a)
        self.b = os.ttyname(self._slave_b)
        self._lock = threading.Lock()
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="pty relay", daemon=True)
        #: Bytes relayed a->b and b->a (for assertions about what crossed the line).
        self.relayed = {"a->b": bytearray(), "b->a": bytearray()}

    def __enter__(self) -> PtyRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def inject_to_a(self, data: bytes) -> None:
        """Noise arriving at end ``a`` (as if sent from ``b``)."""
        with self._lock:
            os.write(self._master_a, data)

    def inject_to_b(self, data: bytes) -> None:
        """Noise arriving at end ``b`` (as if sent from ``a``)."""
        with self._lock:
            os.write(self._master_b, data)

    def _run(self) -> None:
        routes = {
            self._master_a: (self._master_b, "a->b"),
            self._master_b: (self._master_a, "b->a"),
        }
        watched = [self._master_a, self._master_b, self._stop_r]
        while True:
            try:
                ready, _, _ = select.select(watched, [], [], 1.0)
            except (OSError, ValueError):
                return
            if self._stop_r in ready:
                return
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                target, name = routes[fd]
                with self._lock:
                    self.relayed[name] += data
                    os.write(target, data)

    def close(self) -> None:
        """Stop the relay and close every descriptor."""
        if self._stop_w >= 0:
            os.write(self._stop_w, b"x")
            if self._thread.is_alive():
                self._thread.join(5)
            for fd in (
                self._master_a,
                self._master_b,
                self._slave_a,
                self._slave_b,
                self._stop_r,
                self._stop_w,
            ):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._stop_w = -1
