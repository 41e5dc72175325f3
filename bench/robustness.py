"""A load-and-fault session against the simulator: idle floods, a million fuzzed frames, and a
well-behaved client whose latency is measured throughout. Loopback only, bounded in time.

The simulator runs as ``python -m cpppo.server.enip`` in its own process (short timeouts:
``--registration-grace 3 --inactivity-timeout 10``; ``-s 4000``). Then, while a well-behaved
client (its own process) reads a tag over a CIP connection every 5 ms:

1. idle flood: connections that send nothing and connections that register a session and go
   quiet, past the 4,000-connection table, held until the server closes them;
2. fuzzing: >= 1,000,000 frames, mutated at one layer each -- encapsulation header, CPF items,
   EPATH, Multiple Service Packet, Forward Open, Unconnected Send, connected data -- pipelined
   over several registered connections (reconnecting when the server closes one); a new TCP
   probe (ListIdentity) every 2 s must be answered;
3. close: every attacking connection is closed; the server's memory is read again.

Printed: frames per layer, crashes (server exited), hangs (a probe or a well-behaved request
unanswered for 2 s), tracebacks in the server's log, peak RSS, RSS after close, connections held,
idle connections the server closed, and the well-behaved client's p50/p99 latency.

    python bench/robustness.py [--frames 1000000] [--budget 200] [--idle 4500]

Goal (reported, not a test): 0 crashes / 0 hangs / 0 tracebacks, RSS after close within 16 MB
of the start, the well-behaved client's p99 < 50 ms throughout.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import resource
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from cpppo.server.enip.codec import cip, connection, encap, epath, tags
from cpppo.server.enip.codec.encap import Command, EncapFramer

TAGS = ("SCADA=DINT[1000]", "TEXT=SSTRING[10]", "BIG=DINT[5000]")
GRACE, INACTIVITY = 3, 10
#: The server's -s: a longer encapsulated request is refused (0x65) and its stream closed.
MAX_SIZE = 4000
FUZZ_CONNECTIONS = 8
BATCH = 32
#: Frames a fuzzing connection may have unanswered (what is lost when the server ends one).
WINDOW = 256
LAYERS = ("encap", "cpf", "epath", "msp", "forward_open", "unconnected_send", "connected")
GOAL_RSS_MB, GOAL_P99_MS = 16, 50
#: Encapsulation commands an encapsulation-layer mutation puts in a header (none that ends the
#: connection: those are ENDINGS, a small share, since what is in flight then is lost).
COMMANDS = (0x00, 0x01, 0x04, 0x63, 0x64, 0x65, 0x6F, 0x70, 0x71, 0xFFFF)
ENDINGS = 0.002


# ---- the server ----------------------------------------------------------------------------------
def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of a process, in KiB (VmRSS now, VmHWM peak)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Server:
    """The simulator in a subprocess; its log (stderr) is kept for counting."""

    def __init__(self) -> None:
        argv = [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A", "-v"]
        argv += ["--no-config", f"--size={MAX_SIZE}", f"--registration-grace={GRACE}"]
        argv += [f"--inactivity-timeout={INACTIVITY}", *TAGS]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            raise RuntimeError(f"the simulator did not start: {self.process.stderr.read()}")
        host, _, port = line.strip().rpartition(":")
        self.address = (host, int(port))
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in iter(self.process.stderr.readline, ""):
            self.log.append(line)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)

    def closes(self) -> dict[str, int]:
        """Connections the server reports closing, by cause (its -v summary lines)."""
        causes = {
            "grace": r"closed (\d+) connection\(s\) that registered no session",
            "inactivity": r"closed (\d+) connection\(s\) idle for the encapsulation",
            "evicted": r"closed (\d+) idle connection\(s\) without a session to admit",
            "refused": r"refused (\d+) connection\(s\)",
        }
        totals = dict.fromkeys(causes, 0)
        for line in self.log:
            for cause, pattern in causes.items():
                found = re.search(pattern, line)
                if found:
                    totals[cause] += int(found.group(1))
        return totals

    def tracebacks(self) -> int:
        return sum(1 for line in self.log if line.startswith("Traceback"))


# ---- raw EtherNet/IP -------------------------------------------------------------------------
def read_request(name: str = "SCADA", elements: int = 1) -> bytes:
    path = epath.encode_epath([{"symbolic": name}])
    return cip.encode_request(0x4C, path, tags.encode_read_tag(elements))


def receive(sock: socket.socket, framer: EncapFramer) -> tuple[encap.EncapHeader, bytes]:
    """The next whole reply on a blocking socket (OSError if it closes); one request at a time."""
    while True:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        frames = framer.feed(data)
        if frames:
            return frames[0][0], bytes(frames[0][1])


def forward_open(serial: int, size: int = 504) -> connection.ForwardOpen:
    return connection.ForwardOpen(
        t_o_connection_id=0x1000 + serial,
        connection_serial=serial & 0xFFFF,
        vendor_id=0x1337,
        originator_serial=os.getpid(),
        timeout_multiplier=3,
        o_t_rpi=2_000_000,
        o_t_parameters=0x42000000 | size,
        t_o_rpi=2_000_000,
        t_o_parameters=0x42000000 | size,
        transport=0xA3,
        connection_path=[{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}],
        large=True,
    )


def open_session(address, serial: int, timeout: float = 5.0) -> tuple[socket.socket, int, int]:
    """A connection with a session and a CIP connection: (socket, session, O->T id)."""
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    framer = EncapFramer()
    sock.sendall(encap.encode_encap(Command.REGISTER_SESSION, encap.encode_register_session()))
    header, _ = receive(sock, framer)
    session = header.session
    data = connection.encode_forward_open(forward_open(serial))
    request = cip.encode_request(0x5B, cip.CONNECTION_MANAGER_EPATH, data)
    sock.sendall(encap.encode_encap(Command.SEND_RR_DATA, encap.encode_rr_data(request), session))
    _, payload = receive(sock, framer)
    reply = cip.decode_reply(encap.decode_rr_data(payload))
    o_t = (
        connection.decode_forward_open_reply(reply.data).o_t_connection_id
        if not reply.status
        else 0
    )
    return sock, session, o_t


# ---- the well-behaved client (its own process) --------------------------------------------------
def good_client(address, stop, results) -> None:
    """Read SCADA[0] over a CIP connection every 5 ms until ``stop``; send (time, latency or
    None for a 2 s timeout) samples back."""
    samples: list[tuple[float, float | None]] = []
    sock, session, o_t = open_session(address, 7, timeout=2.0)
    framer = EncapFramer()
    sequence = 0
    message = read_request()
    while not stop.is_set():
        sequence = (sequence + 1) & 0xFFFF
        frame = encap.encode_encap(
            Command.SEND_UNIT_DATA, encap.encode_unit_data(o_t, sequence, message), session
        )
        began = time.perf_counter()
        try:
            sock.sendall(frame)
            receive(sock, framer)
            samples.append((time.time(), time.perf_counter() - began))
        except OSError:
            samples.append((time.time(), None))
            sock.close()
            sock, session, o_t = open_session(address, 7 + sequence, timeout=2.0)
            framer = EncapFramer()
        time.sleep(0.005)
    sock.close()
    results.send(samples)


# ---- fuzzing ------------------------------------------------------------------------------------
class Fuzzer:
    """Frames mutated at one layer each, built from valid requests of a session."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        tag = epath.encode_epath([{"symbolic": "BIG"}, {"element": 3}])
        self.requests = [
            read_request("SCADA", 10),
            cip.encode_request(0x4C, tag, tags.encode_read_tag(20)),
            cip.encode_request(0x52, tag, tags.encode_read_tag_fragmented(100, 8)),
            cip.encode_request(0x01, epath.encode_epath([{"class": 1}, {"instance": 1}])),
            cip.encode_request(
                0x03,
                epath.encode_epath([{"class": 0xF5}, {"instance": 1}]),
                b"\x02\x00\x01\x00\x05\x00",
            ),
        ]

    def mutate(self, data: bytes, start: int = 0) -> bytes:
        """``data`` with 1-3 random edits at or after ``start``."""
        rng = self.rng
        buf = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            if len(buf) <= start:
                buf += rng.randbytes(rng.randint(1, 8))
                continue
            at = rng.randrange(start, len(buf))
            op = rng.randrange(6)
            if op == 0:
                buf[at] ^= 1 << rng.randrange(8)
            elif op == 1:
                buf[at] = rng.randrange(256)
            elif op == 2:
                buf[at:at] = rng.randbytes(rng.randint(1, 6))
            elif op == 3:
                del buf[at : at + rng.randint(1, 6)]
            elif op == 4 and at + 2 <= len(buf):
                buf[at : at + 2] = struct.pack("<H", rng.choice((0, 1, 0xFF, 0x7FFF, 0xFFFF)))
            else:
                del buf[at:]
        return bytes(buf)

    def frame(self, layer: str, session: int, o_t: int, sequence: int) -> bytes:
        """One frame mutated at ``layer``."""
        rng = self.rng
        request = rng.choice(self.requests)
        if layer == "encap":
            frame = bytearray(
                encap.encode_encap(Command.SEND_RR_DATA, encap.encode_rr_data(request), session)
            )
            field = rng.randrange(4)
            if rng.random() < ENDINGS:  # the end of the stream: unframeable, or UnRegister
                frame[0:4] = rng.choice((b"\x6f\x00\xff\xff", b"\x66\x00\x00\x00"))
                del frame[24:]
            elif field == 0:
                frame[0:2] = struct.pack("<H", rng.choice(COMMANDS))
            elif field == 1:
                frame[4:8] = rng.randbytes(4)
            elif field == 2:
                frame[8:12] = rng.randbytes(4)
            else:
                frame[20:24] = rng.randbytes(4)
            return bytes(frame)
        if layer == "cpf":
            return encap.encode_encap(
                Command.SEND_RR_DATA, self.mutate(encap.encode_rr_data(request)), session
            )
        if layer == "epath":
            message = self.mutate(request[: 2 + 2 * request[1]], 1) + request[2 + 2 * request[1] :]
        elif layer == "msp":
            body = cip.encode_multiple(rng.sample(self.requests, rng.randint(1, 4)))
            message = cip.encode_request(0x0A, cip.MESSAGE_ROUTER_EPATH, self.mutate(body))
        elif layer == "forward_open":
            body = connection.encode_forward_open(forward_open(rng.randrange(1 << 16)))
            service = rng.choice((0x54, 0x5B, 0x4E))
            message = cip.encode_request(service, cip.CONNECTION_MANAGER_EPATH, self.mutate(body))
        elif layer == "unconnected_send":
            body = connection.encode_unconnected_send(request, [{"port": 1, "link": 0}])
            message = cip.encode_request(0x52, cip.CONNECTION_MANAGER_EPATH, self.mutate(body))
        else:  # connected data
            payload = encap.encode_unit_data(o_t, sequence, request)
            return encap.encode_encap(Command.SEND_UNIT_DATA, self.mutate(payload), session)
        return encap.encode_encap(Command.SEND_RR_DATA, encap.encode_rr_data(message), session)


@dataclass(eq=False)
class Stream:
    """One fuzzing connection: its session, CIP connection, unsent bytes and replies due."""

    sock: socket.socket
    session: int
    o_t: int
    sequence: int = 0
    out: bytes = b""
    framer: EncapFramer = field(default_factory=EncapFramer)
    #: Frames sent and not yet answered (an estimate: a few frames are answered by nothing).
    inflight: int = 0
    last: float = field(default_factory=time.monotonic)


def fuzz(address, frames: int, budget: float, seed: int, report) -> None:
    """Send ``frames`` fuzzed frames (or stop at ``budget`` seconds) over FUZZ_CONNECTIONS
    pipelined connections, at most WINDOW unanswered on each (so a connection the server ends
    loses little); probe the server with a new connection every 2 s."""
    rng = random.Random(seed)
    fuzzer = Fuzzer(rng)
    selector = selectors.DefaultSelector()
    counts = dict.fromkeys(LAYERS, 0)
    reconnects = hangs = probes = replies = sent = 0
    streams: list[Stream] = []

    def connect() -> None:
        sock, session, o_t = open_session(address, 100 + reconnects + len(streams))
        sock.setblocking(False)
        stream = Stream(sock, session, o_t)
        selector.register(sock, selectors.EVENT_READ, stream)
        streams.append(stream)

    def close(stream: Stream) -> None:
        selector.unregister(stream.sock)
        stream.sock.close()
        streams.remove(stream)

    def receive_some(stream: Stream) -> bool:
        """Read what the server sent; False when it closed the connection."""
        nonlocal replies
        try:
            data = stream.sock.recv(262144)
        except BlockingIOError:
            return True
        except OSError:
            return False
        answered = len(stream.framer.feed(data))
        replies += answered
        stream.inflight = max(0, stream.inflight - answered)
        stream.last = time.monotonic()
        return bool(data)

    for _ in range(FUZZ_CONNECTIONS):
        connect()
    began = time.monotonic()
    next_probe = began + 2
    while (sent < frames or any(s.out for s in streams)) and time.monotonic() - began < budget:
        now = time.monotonic()
        for stream in list(streams):
            if now - stream.last > 0.5:  # nothing for a while: the rest had no answer
                stream.inflight, stream.last = 0, now
            if not stream.out and sent < frames and stream.inflight < WINDOW:
                batch = []
                for _ in range(BATCH):
                    layer = LAYERS[sent % len(LAYERS)]
                    stream.sequence = (stream.sequence + 1) & 0xFFFF
                    batch.append(fuzzer.frame(layer, stream.session, stream.o_t, stream.sequence))
                    counts[layer] += 1
                    sent += 1
                stream.out = b"".join(batch)
                stream.inflight += BATCH
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if stream.out else 0)
            selector.modify(stream.sock, events, stream)
        for key, events in selector.select(0.05):
            stream = key.data
            ok = True
            if events & selectors.EVENT_READ:
                ok = receive_some(stream)
            if ok and events & selectors.EVENT_WRITE:
                try:
                    stream.out = stream.out[stream.sock.send(stream.out) :]
                except BlockingIOError:
                    pass
                except OSError:
                    ok = False
            if not ok:
                close(stream)
                reconnects += 1
                connect()
        if time.monotonic() >= next_probe:
            next_probe += 2
            probes += 1
            try:
                with socket.create_connection(address, timeout=2) as probe:
                    probe.sendall(encap.encode_encap(Command.LIST_IDENTITY))
                    receive(probe, EncapFramer())
            except OSError:
                hangs += 1
    quiet_since = time.monotonic()  # drain: the replies to what was sent, then close
    while streams and time.monotonic() - quiet_since < 1.0:
        for stream in list(streams):
            selector.modify(stream.sock, selectors.EVENT_READ, stream)
        for key, _ in selector.select(0.1):
            if receive_some(key.data):
                quiet_since = time.monotonic()
            else:
                close(key.data)
    for stream in list(streams):
        close(stream)
    report.send((counts, replies, reconnects, probes, hangs, time.monotonic() - began))


# ---- idle floods ----------------------------------------------------------------------------
def connected(socks: list[socket.socket], timeout: float) -> set[socket.socket]:
    """Those of ``socks`` (connecting, non-blocking) whose connection completed in time."""
    done: set[socket.socket] = set()
    with selectors.DefaultSelector() as waiting:
        for sock in socks:
            waiting.register(sock, selectors.EVENT_WRITE)
        deadline = time.monotonic() + timeout
        while len(done) < len(socks) and time.monotonic() < deadline:
            for key, _ in waiting.select(0.1):
                done.add(key.fileobj)
                waiting.unregister(key.fileobj)
    return done


def idle_flood(address, silent: int, quiet: int, hold: float) -> dict[str, int]:
    """Open ``silent`` connections that send nothing and ``quiet`` that register a session and
    go quiet; hold them for ``hold`` seconds; count what the server closed."""
    socks: list[socket.socket] = []
    failed = 0
    register = encap.encode_encap(Command.REGISTER_SESSION, encap.encode_register_session())
    selector = selectors.DefaultSelector()
    alive: set[socket.socket] = set()
    most = 0

    def reap(timeout: float) -> None:
        for key, _ in selector.select(timeout):
            sock = key.fileobj
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                selector.unregister(sock)
                alive.discard(sock)

    connecting: list[socket.socket] = []
    for i in range(silent + quiet):  # connect without waiting, 100 at a time (the backlog)
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(address)
        connecting.append(sock)
        if len(connecting) == 100 or i + 1 == silent + quiet:
            writable = connected(connecting, 5.0)
            for sock in connecting:
                if sock not in writable or sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    failed += 1
                    sock.close()
                    continue
                if len(socks) >= silent:
                    sock.send(register)
                selector.register(sock, selectors.EVENT_READ)
                socks.append(sock)
                alive.add(sock)
            connecting = []
            reap(0)
            most = max(most, len(alive))
    deadline = time.monotonic() + hold
    while alive and time.monotonic() < deadline:
        most = max(most, len(alive))
        reap(0.2)
    for sock in socks:
        sock.close()
    return {"opened": len(socks), "failed": failed, "held": most, "closed": len(socks) - len(alive)}


# ---- the session ----------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def attack(server: Server, args, stop, children: list) -> dict:
    """The session against a started server: the well-behaved client throughout, the idle
    flood, then the fuzzing; its figures."""
    pid = server.process.pid
    time.sleep(1.0)
    rss_start = rss_kb(pid)
    good_end, good_results = multiprocessing.Pipe(duplex=False)
    client = multiprocessing.Process(
        target=good_client, args=(server.address, stop, good_results), daemon=True
    )
    client.start()
    children.append(client)
    time.sleep(1.0)
    began = time.time()
    quiet = args.idle // 4
    flood = idle_flood(server.address, args.idle - quiet, quiet, hold=INACTIVITY + 4)
    fuzz_end, fuzz_results = multiprocessing.Pipe(duplex=False)
    fuzzer = multiprocessing.Process(
        target=fuzz,
        args=(server.address, args.frames, args.budget, args.seed, fuzz_results),
        daemon=True,
    )
    fuzzer.start()
    children.append(fuzzer)
    if not fuzz_end.poll(args.budget + 120):
        raise RuntimeError("the fuzzer did not finish")
    figures = fuzz_end.recv()
    ended = time.time()
    time.sleep(3.0)  # every attacking connection is closed: what stays?
    rss_after, peak = rss_kb(pid), rss_kb(pid, "VmHWM")
    crashed = not server.alive()
    stop.set()
    samples = good_end.recv() if good_end.poll(30) else []
    return {
        "fuzz": figures,
        "samples": samples,
        "flood": flood,
        "crashed": crashed,
        "began": began,
        "ended": ended,
        "rss_start": rss_start,
        "rss_after": rss_after,
        "peak": peak,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000, help="fuzzed frames to send")
    parser.add_argument("--budget", type=float, default=200.0, help="most seconds of fuzzing")
    parser.add_argument("--idle", type=int, default=4500, help="idle connections to open")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    started = time.monotonic()
    server = Server()
    stop = multiprocessing.Event()
    children: list[multiprocessing.Process] = []
    try:
        figures = attack(server, args, stop, children)
    finally:
        stop.set()
        for child in children:
            child.join(10)
            if child.is_alive():
                child.kill()
        status = server.stop()
    counts, replies, reconnects, probes, probe_hangs, fuzz_seconds = figures["fuzz"]
    samples, flood, crashed = figures["samples"], figures["flood"], figures["crashed"]
    attack_began, attack_ended = figures["began"], figures["ended"]
    rss_start, rss_after, peak = figures["rss_start"], figures["rss_after"], figures["peak"]
    elapsed = time.monotonic() - started

    during = [lat for t, lat in samples if attack_began <= t <= attack_ended]
    answered = [lat for lat in during if lat is not None]
    client_hangs = sum(1 for lat in during if lat is None)
    total = sum(counts.values())
    closes = server.closes()
    p50, p99 = percentile(answered, 50) * 1e3, percentile(answered, 99) * 1e3
    rows = [
        ("fuzzed frames", f"{total:,}", f"{total / fuzz_seconds:,.0f}/s over {fuzz_seconds:.0f} s"),
        *((f"  {layer}", f"{counts[layer]:,}", "") for layer in LAYERS),
        ("  replies received", f"{replies:,}", f"{reconnects} reconnects after a close"),
        ("crashes (server exited)", str(int(crashed)), f"exit status at SIGTERM: {status}"),
        ("hangs", str(probe_hangs + client_hangs), f"{probes} probes, {len(during)} requests"),
        ("tracebacks in the server log", str(server.tracebacks()), ""),
        ("RSS at start", f"{rss_start / 1024:.1f} MB", ""),
        ("peak RSS", f"{peak / 1024:.1f} MB", ""),
        (
            "RSS after close",
            f"{rss_after / 1024:.1f} MB",
            f"{(rss_after - rss_start) / 1024:+.1f} MB",
        ),
        ("idle connections opened", f"{flood['opened']:,}", f"{flood['failed']} failed"),
        ("idle connections open at once", f"{flood['held']:,}", "as the client counts them"),
        (
            "idle connections closed",
            f"{flood['closed']:,}",
            f"grace {closes['grace']:,}, inactivity {closes['inactivity']:,}, "
            f"evicted {closes['evicted']:,}, refused {closes['refused']:,}",
        ),
        ("well-behaved client p50 / p99", f"{p50:.2f} / {p99:.2f} ms", f"{len(answered)} reads"),
    ]
    print(f"\nRobustness session against the simulator ({elapsed:.0f} s, loopback)")
    for name, value, note in rows:
        print(f"{name:<36} {value:>16}  {note}".rstrip())
    ok = (
        not crashed
        and probe_hangs + client_hangs == 0
        and server.tracebacks() == 0
        and rss_after - rss_start <= GOAL_RSS_MB * 1024
        and answered
        and p99 < GOAL_P99_MS
    )
    print(
        f"\ngoal (0 / 0 / 0, RSS back within {GOAL_RSS_MB} MB, p99 < {GOAL_P99_MS} ms): "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
