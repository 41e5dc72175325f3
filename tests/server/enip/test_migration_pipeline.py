"""Issue 16, item 4: a connection that fails part way raises, as in the original cpppo 5.2.5.

A relay in front of our loopback simulator passes the first requests of a connection and then
closes it (or stops answering). ``.pipeline``, ``.synchronous``, ``.operate`` and ``.process``
yield what completed, then raise CommunicationCeased ("Communication ceased before harvesting
all pipeline responses", also an AssertionError, as the original's). The original, run through
the same relay, raises that AssertionError from ``.pipeline`` and ``.process``; its
``.synchronous`` (and ``.operate`` at depth 0) stops silently, a difference docs/migrating.md
lists. The proxies and poll keep retrying on a new connection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from original525 import original_json

from cpppo.server.enip import client
from cpppo.server.enip.tools import poll
from cpppo.server.enip.tools.getattr import proxy

pytestmark = pytest.mark.timeout(120)

MESSAGE = "Communication ceased before harvesting all pipeline responses"
_SEND_RR_DATA = 0x6F


class Relay:
    """Relays connections to ``upstream``; the first ``drops`` connections pass ``allow``
    SendRRData requests, then are closed once their replies are relayed (``mode`` 'close') or
    get no more replies ('silent'). Later connections pass everything."""

    def __init__(self, upstream: tuple[str, int], allow: int, mode: str, drops: int = 1) -> None:
        self.upstream, self.allow, self.mode, self.drops = upstream, allow, mode, drops
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            limited = self.connections <= self.drops
            thread = threading.Thread(target=self._serve, args=(sock, limited), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, sock: socket.socket, limited: bool) -> None:
        up = socket.create_connection(self.upstream, timeout=5)
        replies = [0]  # SendRRData replies relayed to the client
        pump = threading.Thread(target=self._pump, args=(up, sock, replies), daemon=True)
        pump.start()
        buffer, passed = b"", 0
        sock.settimeout(0.2)
        with contextlib.closing(sock), contextlib.closing(up):
            while not self.stopping.is_set():
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while len(buffer) >= 24:
                    command, length = struct.unpack_from("<HH", buffer)
                    if len(buffer) < 24 + length:
                        break
                    frame, buffer = buffer[: 24 + length], buffer[24 + length :]
                    if command == _SEND_RR_DATA and limited:
                        if passed >= self.allow:
                            if self.mode == "close":
                                deadline = time.monotonic() + 5
                                while replies[0] < passed and time.monotonic() < deadline:
                                    time.sleep(0.01)
                                sock.shutdown(socket.SHUT_RDWR)
                                return
                            continue  # silent
                        passed += 1
                    up.sendall(frame)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, replies: list) -> None:
        buffer = b""
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                buffer += data
                while len(buffer) >= 24:
                    command, length = struct.unpack_from("<HH", buffer)
                    if len(buffer) < 24 + length:
                        break
                    frame, buffer = buffer[: 24 + length], buffer[24 + length :]
                    dst.sendall(frame)
                    replies[0] += command == _SEND_RR_DATA

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        for thread in self.threads:
            thread.join(5)


@pytest.fixture
def relay(enip_simulator) -> Iterator:
    """``relay(allow, mode, drops=1)`` in front of the default simulator; closed at teardown."""
    with contextlib.ExitStack() as stack:

        def start(allow: int, mode: str, drops: int = 1) -> Relay:
            made = Relay(enip_simulator.address, allow, mode, drops)
            stack.callback(made.close)
            return made

        yield start


OPS = ["SCADA[0]", "SCADA[1]", "SCADA[2]", "SCADA[3]"]


@pytest.mark.parametrize("mode", ["close", "silent"])
@pytest.mark.parametrize("method", ["pipeline", "synchronous", "operate", "process"])
def test_failure_raises(relay, method, mode):
    """Two requests answered, then the connection fails: CommunicationCeased (an
    AssertionError too), after the completed operations; its ``results`` are the rest."""
    gate = relay(2, mode)
    seen = []
    with client.connector("127.0.0.1", gate.port, timeout=0.5) as conn:
        ops = client.parse_operations(OPS)
        calls = {
            "pipeline": lambda: conn.pipeline(ops, depth=2),
            "synchronous": lambda: conn.synchronous(ops),
            "operate": lambda: conn.operate(ops, depth=0, validating=True),
            "process": lambda: [(None,) * 5 + (conn.process(ops, depth=2),)],
        }
        with pytest.raises(client.CommunicationCeased) as ceased:
            for result in calls[method]():
                seen.append(result[5])
        assert isinstance(ceased.value, AssertionError)
        assert str(ceased.value).startswith(MESSAGE + ": ")
        cause = client.ConnectionClosed if mode == "close" else client.ReplyTimeout
        assert (
            isinstance(ceased.value.__cause__, cause)
            and ceased.value.error is ceased.value.__cause__
        )
        if method != "process":
            assert seen == [[0], [0]]
            assert [r[5] for r in ceased.value.results] == [None, None]
            assert all(r[4] is ceased.value.error for r in ceased.value.results)
            assert ceased.value.complete == 2
        with pytest.raises(client.CommunicationCeased, match=r": +0/ +0 "):
            list(conn.synchronous(client.parse_operations(["SCADA[0]"])))  # broken: at once


_ORIGINAL_PIPELINE = """
import json, sys
from cpppo.server.enip import client
port, method = int(sys.argv[1]), sys.argv[2]
ops = client.parse_operations(json.loads(sys.argv[3]))
seen, raised = [], None
with client.connector(host="127.0.0.1", port=port, timeout=0.5) as conn:
    try:
        if method == "pipeline":
            for r in conn.pipeline(operations=ops, depth=2, timeout=0.5):
                seen.append(r[5])
        elif method == "synchronous":
            for r in conn.synchronous(operations=ops, timeout=0.5):
                seen.append(r[5])
        else:
            seen.append(conn.process(operations=ops, depth=2, timeout=0.5))
    except Exception as exc:
        raised = [type(exc).__name__, str(exc)]
print(json.dumps({"seen": seen, "raised": raised}))
"""


@pytest.mark.parametrize("mode", ["close", "silent"])
def test_beside_the_original(relay, mode):
    """The original raises the same message from .pipeline and .process; its .synchronous
    stops silently after the completed operations (ours raises)."""
    for method in ("pipeline", "process"):
        gate = relay(2, mode)
        theirs = original_json(_ORIGINAL_PIPELINE, str(gate.port), method, json.dumps(OPS))
        assert theirs["raised"][0] == "AssertionError"
        assert theirs["raised"][1].startswith(MESSAGE + ": ")
        if method == "pipeline":
            assert theirs["seen"] == [[0], [0]]
    gate = relay(2, mode)
    theirs = original_json(_ORIGINAL_PIPELINE, str(gate.port), "synchronous", json.dumps(OPS))
    assert theirs == {"seen": [[0], [0]], "raised": None}


def test_proxy_and_poll_retry(relay):
    """A proxy's read raises when its connection fails; close_gateway and the next read works
    on a new connection. poll.run reports the failure and resumes."""
    gate = relay(1, "close", drops=1)
    via = proxy("127.0.0.1", port=gate.port, timeout=2)
    with via:
        assert list(via.read(["SCADA[0]"])) == [[0]]
    with pytest.raises(client.CommunicationCeased) as ceased, via:
        list(via.read(["SCADA[1]"]))
    via.close_gateway(exc=ceased.value)
    with via:
        assert list(via.read(["SCADA[1]"])) == [[0]]
    via.close_gateway()

    gate = relay(1, "close", drops=1)
    via = proxy("127.0.0.1", port=gate.port, timeout=2)
    values, failures = [], []

    def process(param, value):
        values.append((param, value))
        process.done = len(values) >= 3

    process.done = False
    polls = poll.run(
        via,
        process,
        failures.append,
        cycle=0.05,
        params=["SCADA[2]"],
        pass_thru=True,
        backoff_min=0.05,
        count=10,
    )
    via.close_gateway()
    assert polls == 3 and values == [("SCADA[2]", [0])] * 3
    assert len(failures) == 1 and MESSAGE in str(failures[0])
    assert gate.connections == 2
