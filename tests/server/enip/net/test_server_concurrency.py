"""A user Attribute that blocks (spec 2.1.3's weather example) must not stall other clients."""

from __future__ import annotations

import threading
import time

import pylogix
import pytest

from cpppo.server.enip import DINT, device


class SlowAttribute(device.Attribute):
    """Reads of the tag named SLOW take a second, like a web lookup would."""

    started = threading.Event()

    def __getitem__(self, key):
        if self.name == "SLOW":
            type(self).started.set()
            time.sleep(1.0)
        return super().__getitem__(key)


@pytest.mark.parametrize("fast_builtin", [True, False])
def test_slow_attribute_does_not_delay_other_clients(enip_simulator_factory, fast_builtin):
    SlowAttribute.started = threading.Event()
    simulator = enip_simulator_factory(["SLOW=DINT"], attribute_class=SlowAttribute)
    if fast_builtin:  # the fast path: a built-in Attribute on the event loop
        simulator.controller.add_tag("FAST", DINT, (10,), attribute_class=device.Attribute)
    else:  # also a user class (so also off the loop), but not slow itself
        simulator.controller.add_tag("FAST", DINT, (10,))
    simulator.controller.tags["FAST"].attribute[3] = 33
    slow_result: dict = {}

    def slow_client() -> None:
        with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
            began = time.monotonic()
            slow_result["reply"] = comm.Read("SLOW", datatype=0xC4)  # no type probe
            slow_result["elapsed"] = time.monotonic() - began

    with pylogix.PLC("127.0.0.1", port=simulator.port) as fast:
        assert fast.Read("FAST[3]").Value == 33  # connected and type-probed before the race
        thread = threading.Thread(target=slow_client)
        thread.start()
        assert SlowAttribute.started.wait(5)
        latencies = []
        for _ in range(20):
            began = time.monotonic()
            assert fast.Read("FAST[3]").Value == 33
            latencies.append(time.monotonic() - began)
        still_slow = "reply" not in slow_result
        thread.join(10)
    assert still_slow, "the fast reads were not concurrent with the slow one"
    assert max(latencies) < 0.25, latencies
    assert slow_result["reply"].Status == "Success" and slow_result["elapsed"] >= 0.95


def test_one_connections_replies_keep_its_requests_order(enip_simulator_factory):
    """A request that reaches a blocking Attribute runs off the loop; a request of the same
    connection that arrives meanwhile (in a later read) waits for it: replies in request order."""
    import socket

    from cpppo.server.enip.client.pipeline import Pipeline
    from cpppo.server.enip.codec.encap import (
        Command,
        EncapFramer,
        encode_encap,
        encode_register_session,
    )

    SlowAttribute.started = threading.Event()
    simulator = enip_simulator_factory(["SLOW=DINT"], attribute_class=SlowAttribute)
    simulator.controller.add_tag("FAST", DINT, (10,), attribute_class=device.Attribute)
    framer = EncapFramer()
    with socket.create_connection(("127.0.0.1", simulator.port), timeout=5) as sock:
        sock.sendall(encode_encap(Command.REGISTER_SESSION, encode_register_session(), 0))
        ((header, _),) = framer.feed(sock.recv(1024))
        slow, fast = Pipeline(["SLOW", "FAST[3]"], session=header.session, depth=2).requests()
        sock.sendall(slow)
        assert SlowAttribute.started.wait(5)  # the slow read is in a worker thread now
        sock.sendall(fast)  # a later read of the same connection
        replies: list = []
        deadline = time.monotonic() + 5
        while len(replies) < 2 and time.monotonic() < deadline:
            replies.extend(framer.feed(sock.recv(4096)))
    contexts = [bytes(header.context).rstrip(b"\0") for header, _ in replies]
    assert contexts == [b"0", b"1"], contexts  # SLOW's reply first, then FAST's
