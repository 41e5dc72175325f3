"""Fixtures that start the EtherNet/IP simulator on a free loopback port and always stop it.

- ``enip_simulator``: an in-process simulator (its own event loop in a thread) with the tags of
  ``SIMULATOR_TAGS``; yields a :class:`Simulator` (``.address``, ``.host``, ``.port``,
  ``.controller``, ``.control``).
- ``enip_simulator_factory``: ``start(tags, route_path=..., attribute_class=..., **server)``
  for simulators with other tags or options; every one started is stopped at teardown.
- ``enip_server_process``: ``start(*args, env=None, cwd=None, prefix=())`` runs ``python -m
  cpppo.server.enip -a 127.0.0.1:0 -A *args`` in a subprocess (behind ``prefix``, e.g. ``ip
  netns exec NS``) and returns a :class:`ServerProcess` once it prints its bound address;
  SIGTERM (then SIGKILL) at teardown.
- ``enip_raw_client``: ``connect(address)`` -> :class:`RawClient`, a blocking socket client
  speaking bytes through the codec (register, SendRRData, Forward Open, SendUnitData).
- ``enip_spec_cfg``: spec 2.1.2's example ``cpppo.cfg`` (:data:`SPEC_CFG`), written in
  ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cpppo.server.enip.codec import cip, connection, encap, epath, tags
from cpppo.server.enip.codec.encap import Command, EncapFramer, EncapHeader
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.net.control import ServerControl
from cpppo.server.enip.net.server import ServerThread
from cpppo.server.enip.sim.controller import Controller
from helpers import closing_all, stop_process, unavailable

#: Tags of the default in-process simulator.
SIMULATOR_TAGS = (
    "SCADA=INT[1000]",
    "TEXT=SSTRING[100]",
    "B=BOOL[16]",
    "S=SINT[10]",
    "I=INT",
    "D=DINT[10]",
    "L=LINT[4]",
    "US=USINT",
    "UI=UINT",
    "UD=UDINT",
    "UL=ULINT",
    "R=REAL[10]",
    "LR=LREAL",
    "STR=STRING[3]",
    "BIG=DINT[5000]",
)

#: Spec 2.1.2's example cpppo.cfg, as written (a JSON object closed in column 0, with a trailing
#: comma).
SPEC_CFG = """\
[Identity]
# Generally, strings are not quoted
Product Name          = 1756-L61/B LOGIX5561

[TCPIP]
# However, some complex structures require JSON configuration:
Interface Configuration = {
    "ip_address":      "192.168.0.201",
    "network_mask":    "255.255.255.0",
    "dns_primary":     "8.8.8.8",
    "dns_secondary":   "8.8.4.4",
    "domain_name":     "example.com",
}
Host Name              = controller
"""


@pytest.fixture
def enip_spec_cfg(tmp_path: Path) -> Path:
    """``tmp_path / "cpppo.cfg"`` holding :data:`SPEC_CFG`."""
    path = tmp_path / "cpppo.cfg"
    path.write_text(SPEC_CFG)
    return path


@dataclass
class Simulator:
    """A running in-process simulator."""

    controller: Controller
    control: ServerControl
    thread: ServerThread

    @property
    def address(self) -> tuple[str, int]:
        return self.thread.address

    @property
    def host(self) -> str:
        return self.thread.address[0]

    @property
    def port(self) -> int:
        return self.thread.address[1]

    def stop(self) -> None:
        self.thread.stop()


def start_simulator(
    tag_specs: tuple[str, ...] | list[str] = SIMULATOR_TAGS,
    *,
    route_path: Any = None,
    attribute_class: Any = None,
    identity: dict | None = None,
    tcpip: dict | None = None,
    address: tuple[str, int] = ("127.0.0.1", 0),
    **server: Any,
) -> Simulator:
    """Start an in-process simulator (the caller must ``stop()`` it)."""
    kwds: dict[str, Any] = {}
    if attribute_class is not None:
        kwds["attribute_class"] = attribute_class
    controller = build_controller(list(tag_specs), identity, tcpip, route_path, **kwds)
    control = server.pop("control", None) or ServerControl()
    thread = ServerThread(controller, address, control=control, **server)
    thread.start()
    return Simulator(controller, control, thread)


@pytest.fixture
def enip_simulator_factory():
    """Start simulators with ``start(tags, **options)``; all are stopped at teardown."""
    with closing_all(start_simulator, Simulator.stop) as start:
        yield start


@pytest.fixture
def enip_simulator(enip_simulator_factory):
    """An in-process simulator serving SIMULATOR_TAGS on 127.0.0.1:<free port>."""
    return enip_simulator_factory()


@dataclass
class ServerProcess:
    """A simulator running as ``python -m cpppo.server.enip`` in a subprocess.

    Its stdout and stderr are drained by threads (a full pipe would block the server), into
    ``stdout_lines`` and ``stderr_lines``.
    """

    process: subprocess.Popen
    host: str
    port: int
    stdout_lines: list[str] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        for stream, lines in (
            (self.process.stdout, self.stdout_lines),
            (self.process.stderr, self.stderr_lines),
        ):
            reader = threading.Thread(target=self._drain, args=(stream, lines), daemon=True)
            reader.start()
            self.readers.append(reader)

    @staticmethod
    def _drain(stream: Any, lines: list[str]) -> None:
        for line in iter(stream.readline, ""):
            lines.append(line)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, wait; SIGKILL if it does not exit. Returns the exit status."""
        return stop_process(self.process, timeout)

    def close(self) -> None:
        """Stop it, collect the rest of its output and close its pipes."""
        self.stop()
        for reader in self.readers:
            reader.join(5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()

    def output(self) -> str:
        """Everything the process printed on stdout (complete once it has been stopped)."""
        if self.process.poll() is not None:
            self.readers[0].join(5)
        return "".join(self.stdout_lines)

    def errors(self) -> str:
        """Everything the process printed on stderr (its log; complete once stopped)."""
        if self.process.poll() is not None:
            self.readers[1].join(5)
        return "".join(self.stderr_lines)


def start_process(
    *args: str, env: dict | None = None, cwd: str | None = None, prefix: Sequence[str] = ()
) -> ServerProcess:
    """Run the simulator CLI on 127.0.0.1:<free port> (unless ``-a`` is given), behind the
    command ``prefix`` if any (it must exec the simulator); wait for it."""
    argv = [*prefix, sys.executable, "-m", "cpppo.server.enip"]
    if "-a" not in args and "--address" not in args:
        argv += ["-a", "127.0.0.1:0"]
    argv += ["-A", *args]
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    line = process.stdout.readline() if process.stdout else ""
    if not line:
        process.wait(5)
        err = process.stderr.read() if process.stderr else ""
        raise RuntimeError(f"simulator did not start (status {process.returncode}): {err}")
    host, _, port = line.strip().rpartition(":")
    return ServerProcess(process, host, int(port))


@pytest.fixture
def enip_server_process():
    """Start ``python -m cpppo.server.enip`` subprocesses; all are stopped at teardown."""
    with closing_all(start_process, ServerProcess.close) as start:
        yield start


class RawClient:
    """A blocking EtherNet/IP client for tests: whole messages in, decoded replies out."""

    def __init__(self, address: tuple[str, int], timeout: float = 2.0) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.framer = EncapFramer()
        self.frames: list[tuple[EncapHeader, memoryview]] = []
        self.session = 0
        self.o_t_id = 0
        self.t_o_id = 0x1234
        self.sequence = 0
        self.lock = threading.Lock()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self, timeout: float = 2.0) -> tuple[EncapHeader, bytes] | None:
        """The next whole reply, or None if the server closed the connection."""
        deadline = time.monotonic() + timeout
        while not self.frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no reply")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                return None
            self.frames.extend(self.framer.feed(data))
        header, payload = self.frames.pop(0)
        return header, bytes(payload)

    def closed(self, timeout: float = 2.0) -> bool:
        """True when the server closes the connection within ``timeout`` (no data expected)."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True

    def request(self, command: int, payload: bytes = b"", context: bytes = b"ctx12345"):
        self.send(encap.encode_encap(command, payload, self.session, 0, context))
        return self.receive()

    def register(self) -> int:
        header, _ = self.request(Command.REGISTER_SESSION, encap.encode_register_session())
        assert header.status == 0
        self.session = header.session
        return self.session

    def rr(self, message: bytes) -> cip.Reply:
        """SendRRData one CIP request; the decoded CIP reply."""
        header, payload = self.request(Command.SEND_RR_DATA, encap.encode_rr_data(message))
        assert header.status == 0, header
        return cip.decode_reply(encap.decode_rr_data(payload))

    def forward_open(self, size: int = 4002, multiplier: int = 3, rpi: int = 2_000_000, **kw):
        fo = connection.ForwardOpen(
            t_o_connection_id=self.t_o_id,
            connection_serial=kw.get("serial", 7),
            vendor_id=kw.get("vendor", 0x1337),
            originator_serial=kw.get("originator", 42),
            timeout_multiplier=multiplier,
            o_t_rpi=rpi,
            o_t_parameters=0x42000000 | size,
            t_o_rpi=rpi,
            t_o_parameters=0x42000000 | size,
            transport=0xA3,
            connection_path=kw.get("path", [{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}]),
            large=True,
        )
        data = connection.encode_forward_open(fo)
        reply = self.rr(cip.encode_request(0x5B, cip.CONNECTION_MANAGER_EPATH, data))
        if reply.status == 0:
            self.o_t_id = connection.decode_forward_open_reply(reply.data).o_t_connection_id
        return reply

    def unit(self, message: bytes) -> cip.Reply:
        """SendUnitData one CIP request on the open connection; the decoded CIP reply."""
        self.sequence = (self.sequence + 1) & 0xFFFF
        payload = encap.encode_unit_data(self.o_t_id, self.sequence, message)
        header, reply = self.request(Command.SEND_UNIT_DATA, payload)
        assert header.status == 0, header
        cid, seq, data = encap.decode_unit_data(reply)
        assert (cid, seq) == (self.t_o_id, self.sequence)
        return cip.decode_reply(data)


def read_tag(path: list[dict] | str, elements: int = 1) -> bytes:
    """An encoded Read Tag request (``path`` a tag name or segments)."""
    segments = [{"symbolic": path}] if isinstance(path, str) else path
    return cip.encode_request(0x4C, epath.encode_epath(segments), tags.encode_read_tag(elements))


class RecordingProxy:
    """A loopback TCP proxy in front of a server that records every byte, per connection.

    ``write_pcap(path)`` turns the recording into a classic pcap of IPv4/TCP packets (handshake,
    data segments with consistent sequence numbers, FIN), with the server port unchanged, so
    ``tshark -d tcp.port==<port>,enip`` decodes it. No capture privileges are needed.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        #: per connection: client port and [(from_client, time, bytes)]
        self.sessions: list[tuple[int, list[tuple[bool, float, bytes]]]] = []
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.closing = False
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            record: list[tuple[bool, float, bytes]] = []
            with self.lock:
                self.sessions.append((upstream.getsockname()[1], record))
            for source, sink, outbound in ((client, upstream, True), (upstream, client, False)):
                thread = threading.Thread(
                    target=self._pump, args=(source, sink, outbound, record), daemon=True
                )
                thread.start()
                self.threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket, outbound: bool, record) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self.lock:
                    record.append((outbound, time.time(), data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.closing = True
        self.listener.close()
        for thread in self.threads:
            thread.join(2)

    def write_pcap(self, path: str) -> int:
        """Write the recorded sessions as a pcap (LINKTYPE_RAW IPv4); returns packets written."""
        packets: list[tuple[float, bytes]] = []
        with self.lock:
            sessions = [(port, list(record)) for port, record in self.sessions]
        for client_port, record in sessions:
            if record:
                packets += _tcp_session(client_port, self.target[1], record)
        with open(path, "wb") as out_file:
            out_file.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
            for when, packet in packets:
                sec = int(when)
                out_file.write(
                    struct.pack("<IIII", sec, int((when - sec) * 1e6), len(packet), len(packet))
                )
                out_file.write(packet)
        return len(packets)


def _tcp_session(client: int, server: int, record: list) -> list[tuple[float, bytes]]:
    """(time, IPv4 packet) of a whole TCP session carrying the recorded chunks."""
    seq = {True: 1000, False: 5000}  # next sequence number, by direction (True: from client)
    packets = []

    def segment(out: bool, when: float, flags: int, data: bytes = b"") -> None:
        sport, dport = (client, server) if out else (server, client)
        packets.append((when, _ip_tcp(sport, dport, seq[out], seq[not out], flags, data)))
        seq[out] += len(data) + (1 if flags & 0x03 else 0)  # SYN and FIN count as one byte

    start, end = record[0][1] - 0.001, record[-1][1] + 0.001
    segment(True, start, 0x02)  # SYN
    segment(False, start, 0x12)  # SYN, ACK
    segment(True, start, 0x10)  # ACK
    for out, when, data in record:
        for i in range(0, len(data), 1400):
            segment(out, when, 0x18, data[i : i + 1400])  # PSH, ACK
    segment(True, end, 0x11)  # FIN, ACK
    segment(False, end, 0x11)
    segment(True, end, 0x10)
    return packets


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip_tcp(sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes) -> bytes:
    src = bytes([127, 0, 0, 1])
    dst = bytes([127, 0, 0, 1])
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack if flags & 0x10 else 0, 5 << 4, flags,
                      65535, 0, 0)  # fmt: skip
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(data))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp + data)) + tcp[18:]
    total = 20 + len(tcp) + len(data)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return ip + tcp + data


TSHARK = "/usr/bin/tshark"


def tshark_problems(pcap: str, port: int) -> tuple[list[str], list[str], str]:
    """(malformed packet lines, expert error lines, protocol summary) of a capture."""
    decode = ["-d", f"tcp.port=={port},enip"]
    base = [TSHARK, "-n", "-r", pcap, *decode]
    malformed = subprocess.run(
        [*base, "-Y", "_ws.malformed"], capture_output=True, text=True, timeout=60
    )
    errors = subprocess.run(
        [*base, "-Y", "_ws.expert.severity >= 8388608"], capture_output=True, text=True, timeout=60
    )
    summary = subprocess.run([*base], capture_output=True, text=True, timeout=60)
    return (
        [line for line in malformed.stdout.splitlines() if line.strip()],
        [line for line in errors.stdout.splitlines() if line.strip()],
        summary.stdout,
    )


@pytest.fixture
def enip_tshark():
    """``check(pcap, port) -> (malformed, expert errors, summary)``; skips if tshark is absent."""
    if not os.path.exists(TSHARK):
        unavailable("tshark is not installed (Debian: apt-get install tshark)")
    return tshark_problems


@pytest.fixture
def enip_recording_proxy():
    """``record(target_address)`` -> RecordingProxy (closed at teardown)."""
    with closing_all(RecordingProxy, RecordingProxy.close) as record:
        yield record


@pytest.fixture
def enip_raw_client():
    """``connect(address, timeout=2.0)`` -> RawClient; all are closed at teardown."""
    with closing_all(RawClient, RawClient.close) as connect:
        yield connect
