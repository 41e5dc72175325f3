"""Logix tag services and CIP routing of the simulated controller, with byte vectors (no I/O)."""

from __future__ import annotations

import struct

import pytest

from cpppo.server.enip import DINT, INT, LOGIX_STRING, REAL, SSTRING, device
from cpppo.server.enip.codec import cip, connection, epath, tags
from cpppo.server.enip.logix.convert import convert_values
from cpppo.server.enip.sim.controller import Controller
from cpppo.server.enip.sim.device import Context, WouldBlock


@pytest.fixture
def plc() -> Controller:
    controller = Controller()
    controller.add_tag("SCADA", INT, (1000,))
    controller.add_tag("D", DINT, (10,))
    controller.add_tag("F", REAL)
    controller.add_tag("GRID", DINT, (3, 4))
    controller.add_tag("TEXT", SSTRING, (4,))
    controller.add_tag("NAME", LOGIX_STRING)
    return controller


def run(controller: Controller, raw: bytes, max_reply: int = 504) -> bytes:
    return controller.request(raw, Context(max_reply=max_reply))


def req(service: int, path: list[dict] | str, data: bytes = b"") -> bytes:
    segments = [{"symbolic": path}] if isinstance(path, str) else path
    return cip.encode_request(service, epath.encode_epath(segments), data)


def test_read_tag_bytes(plc):
    plc.tags["D"].attribute[2] = -2
    # 4C 03 91 01 'D' 00 28 02 | 01 00  -> CC 00 00 00 C4 00 fe ff ff ff
    raw = bytes.fromhex("4c03 9101 4400 2802 0100")
    assert run(plc, raw) == bytes.fromhex("cc000000c400feffffff")


def test_read_whole_array_partial_and_fragmented(plc):
    plc.tags["SCADA"].attribute[0:1000] = list(range(1000))
    reply = cip.decode_reply(run(plc, req(0x4C, "SCADA", tags.encode_read_tag(1000))))
    # 504 - 4 (reply header) - 2 (type) = 498 bytes -> 249 INTs, status 0x06
    assert reply.status == 0x06
    typed = tags.decode_typed_data(reply.data)
    assert typed.code == 0xC3 and INT.decode(typed.data) == list(range(249))
    values: list[int] = INT.decode(typed.data)
    offset = len(typed.data)
    while True:
        data = tags.encode_read_tag_fragmented(1000, offset)
        reply = cip.decode_reply(run(plc, req(0x52, "SCADA", data)))
        chunk = tags.decode_typed_data(reply.data).data
        values += INT.decode(chunk)
        offset += len(chunk)
        if reply.status == 0:
            break
        assert reply.status == 0x06
    assert values == list(range(1000))
    # beyond the end: 0xFF / 0x2105
    reply = cip.decode_reply(run(plc, req(0x52, "SCADA", tags.encode_read_tag_fragmented(10, 20))))
    assert (reply.status, reply.ext_status) == (0xFF, (0x2105,))


def test_read_respects_a_large_connection_size(plc):
    reply = cip.decode_reply(run(plc, req(0x4C, "SCADA", tags.encode_read_tag(1000)), 4000))
    assert reply.status == 0 and len(reply.data) == 2 + 2000


def test_element_addressing_and_errors(plc):
    plc.tags["GRID"].attribute[0:12] = list(range(12))
    path = [{"symbolic": "GRID"}, {"element": 2}, {"element": 1}]
    reply = cip.decode_reply(run(plc, req(0x4C, path, tags.encode_read_tag(3))))
    assert DINT.decode(tags.decode_typed_data(reply.data).data) == [9, 10, 11]
    # An index outside the array: 0x05, as a ControlLogix answers (epics-modules/ether_ip#29:
    # testTag[60] of a DINT[56,30] -> "Status = 0x05"; apache/plc4x#2712 on a BOOL array).
    for bad in (
        [{"symbolic": "GRID"}, {"element": 3}, {"element": 0}],  # row out of range
        [{"symbolic": "SCADA"}, {"element": 1000}],
    ):
        reply = cip.decode_reply(run(plc, req(0x4C, bad, tags.encode_read_tag(1))))
        assert (reply.status, reply.ext_status) == (0x05, ())
    reply = cip.decode_reply(run(plc, req(0x4C, [{"symbolic": "D"}, {"element": 8}], b"\x03\x00")))
    assert (reply.status, reply.ext_status) == (0xFF, (0x2105,))  # 3 elements from 8 of 10
    assert cip.decode_reply(run(plc, req(0x4C, "NOPE", b"\x01\x00"))).status == 0x04
    too_deep = [{"symbolic": "D"}, {"element": 1}, {"element": 1}]
    assert cip.decode_reply(run(plc, req(0x4C, too_deep, b"\x01\x00"))).status == 0x04
    member = [{"symbolic": "D"}, {"symbolic": "X"}]
    assert cip.decode_reply(run(plc, req(0x4C, member, b"\x01\x00"))).status == 0x04
    assert cip.decode_reply(run(plc, req(0x4C, "D", b""))).status == 0x13
    assert cip.decode_reply(run(plc, req(0x0E, "D"))).status == 0x08
    # a path that does not decode, and a request with a truncated path
    assert run(plc, bytes.fromhex("4c01ee00")) == bytes.fromhex("cc000400")
    assert run(plc, bytes.fromhex("4c05910144")) == bytes.fromhex("cc000400")


def test_symbol_instance_addressing(plc):
    plc.tags["D"].attribute[1] = 77
    instance = plc.tags["D"].instance_id
    path = [{"class": 0x6B}, {"instance": instance}, {"element": 1}]
    reply = cip.decode_reply(run(plc, req(0x4C, path, b"\x01\x00")))
    assert DINT.decode(tags.decode_typed_data(reply.data).data) == [77]


def test_write_tag_ignores_trailing_bytes_like_pycomm3(plc):
    # pycomm3's single write carries the whole message twice; the server takes count x size.
    write = req(
        0x4D, [{"symbolic": "D"}, {"element": 3}], tags.encode_write_tag(0xC4, 1, b"\x07\0\0\0")
    )
    doubled = write + b"\x26\x00" + write[:-6]
    assert run(plc, doubled) == bytes.fromhex("cd000000")
    assert plc.tags["D"].attribute[3] == 7


def test_write_errors_and_widening(plc):
    path = [{"symbolic": "D"}, {"element": 0}]
    short = req(0x4D, path, tags.encode_write_tag(0xC4, 2, b"\x01\0\0\0"))
    assert cip.decode_reply(run(plc, short)).status == 0x13
    too_many = req(0x4D, path, tags.encode_write_tag(0xC4, 11, bytes(44)))
    assert cip.decode_reply(run(plc, too_many)).ext_status == (0x2105,)
    real_into_dint = req(0x4D, path, tags.encode_write_tag(0xCA, 1, REAL.encode([1.5])))
    reply = cip.decode_reply(run(plc, real_into_dint))
    assert (reply.status, reply.ext_status) == (0xFF, (0x2107,))
    # an INT (the cpppo client's default type) widens into a DINT tag and a REAL
    assert run(plc, req(0x4D, path, tags.encode_write_tag(0xC3, 1, INT.encode([-5])))) == (
        bytes.fromhex("cd000000")
    )
    assert plc.tags["D"].attribute[0] == -5
    assert (
        cip.decode_reply(run(plc, req(0x4D, "F", tags.encode_write_tag(0xC3, 1, b"\x02\0")))).status
        == 0
    )
    assert plc.tags["F"].attribute[0] == 2.0
    # a DINT too large for an INT tag is a type mismatch
    big = req(0x4D, "SCADA", tags.encode_write_tag(0xC4, 1, DINT.encode([70000])))
    assert cip.decode_reply(run(plc, big)).ext_status == (0x2107,)


def test_strings(plc):
    write = req(0x4D, "NAME", tags.encode_write_tag(0x2A0, 1, LOGIX_STRING.encode(["hi"]), 0x0FCE))
    assert cip.decode_reply(run(plc, write)).status == 0
    reply = run(plc, req(0x4C, "NAME", b"\x01\x00"))
    assert reply[:8] == bytes.fromhex("cc000000a002ce0f") and len(reply) == 8 + 88
    assert LOGIX_STRING.decode(reply[8:]) == ["hi"]
    sstring = req(
        0x4D,
        [{"symbolic": "TEXT"}, {"element": 1}],
        tags.encode_write_tag(0xDA, 2, SSTRING.encode(["a", "bc"])),
    )
    assert cip.decode_reply(run(plc, sstring)).status == 0
    reply = run(plc, req(0x4C, "TEXT", b"\x04\x00"))
    assert reply == bytes.fromhex("cc000000da00") + SSTRING.encode(["", "a", "bc", ""])
    # a CIP SSTRING written into a Logix STRING tag is a type mismatch, as the original cpppo
    # and a ControlLogix answer (issue 16: only numeric widening is taken)
    cipstr = req(0x4D, "NAME", tags.encode_write_tag(0xDA, 1, SSTRING.encode(["xyz"])))
    reply = cip.decode_reply(run(plc, cipstr))
    assert (reply.status, reply.ext_status) == (0xFF, (0x2107,))
    assert plc.tags["NAME"].attribute[0] == "hi"


def test_write_fragmented(plc):
    path = "SCADA"
    first = tags.encode_write_tag_fragmented(0xC3, 4, 0, INT.encode([1, 2]))
    second = tags.encode_write_tag_fragmented(0xC3, 4, 4, INT.encode([3, 4]))
    assert run(plc, req(0x53, path, first)) == bytes.fromhex("d3000000")
    assert run(plc, req(0x53, path, second)) == bytes.fromhex("d3000000")
    assert plc.tags["SCADA"].attribute[0:5] == [1, 2, 3, 4, 0]
    over = tags.encode_write_tag_fragmented(0xC3, 4, 6, INT.encode([5, 6]))
    assert cip.decode_reply(run(plc, req(0x53, path, over))).status == 0x15


def test_read_modify_write_with_pycomm3_8_byte_and_mask(plc):
    plc.tags["D"].attribute[1] = 0x0F
    # size 4, OR 0x20, AND 0xFFFFFFFE followed by 4 more AND bytes (pycomm3 sends 8)
    data = struct.pack("<H", 4) + struct.pack("<I", 0x20) + struct.pack("<Q", 0xFFFFFFFFFFFFFFFE)
    reply = run(plc, req(0x4E, [{"symbolic": "D"}, {"element": 1}], data))
    assert reply == bytes.fromhex("ce000000")
    assert plc.tags["D"].attribute[1] == 0x2E
    # setting the sign bit keeps the value a signed DINT
    data = tags.encode_read_modify_write(4, 0x80000000, 0xFFFFFFFF)
    run(plc, req(0x4E, "D", data))
    assert plc.tags["D"].attribute[0] == -(2**31)
    # a mask on a REAL is a type mismatch
    assert cip.decode_reply(run(plc, req(0x4E, "F", data))).ext_status == (0x2107,)


def test_service_0x4e_and_0x52_route_on_service_and_path(plc):
    # 0x4E to the Connection Manager is a Forward Close (for an unknown connection: 0x01/0x0107)
    fc = connection.encode_forward_close(connection.ForwardClose(connection_serial=1))
    reply = cip.decode_reply(run(plc, cip.encode_request(0x4E, cip.CONNECTION_MANAGER_EPATH, fc)))
    assert (reply.status, reply.ext_status) == (0x01, (0x0107,))
    # 0x52 to the Connection Manager is an Unconnected Send, unwrapped
    inner = req(0x4C, "F", b"\x01\x00")
    us = connection.encode_unconnected_send(inner, [{"port": 1, "link": 0}])
    reply = run(plc, cip.encode_request(0x52, cip.CONNECTION_MANAGER_EPATH, us))
    assert reply == bytes.fromhex("cc000000ca0000000000")


def test_unconnected_send_route_path_checks():
    plc = Controller(route_path=[{"port": 1, "link": 0}])
    plc.add_tag("F", REAL)
    inner = req(0x4C, "F", b"\x01\x00")

    def send(route):
        us = connection.encode_unconnected_send(inner, route)
        return cip.decode_reply(
            run(plc, cip.encode_request(0x52, cip.CONNECTION_MANAGER_EPATH, us))
        )

    assert send([{"port": 1, "link": 0}]).service == 0x4C
    assert send(None).service == 0x4C  # no route path: a simple request
    bad = send([{"port": 1, "link": 3}])
    assert (bad.service, bad.status, bad.ext_status) == (0x52, 0x01, (0x0311,))
    plc.route_path = False  # -S: a simple device accepts no route path
    assert send([{"port": 1, "link": 0}]).status == 0x01
    assert send(None).service == 0x4C


def test_unconnected_send_envelopes_answer_alike_every_time(plc):
    """Familiar envelopes are unwrapped from a cache: repeats must answer exactly as the first."""
    inner = req(0x4C, "F", b"\x01\x00")
    route = epath.encode_route_path([{"port": 1, "link": 0}])

    def us(data: bytes) -> bytes:
        return cip.encode_request(0x52, cip.CONNECTION_MANAGER_EPATH, data)

    good = connection.encode_unconnected_send(inner, [{"port": 1, "link": 0}])
    odd = req(0x4C, "F", b"\x01\x00\x00")  # 9 bytes: padded before the route
    cases = {
        "good": (us(good), 0x4C, 0x00),
        "odd message": (us(connection.encode_unconnected_send(odd, None)), 0x4C, 0x00),
        "bytes after the route": (us(good + b"\x00\x00"), 0x52, 0x15),
        "route runs past the end": (us(good[:-1]), 0x52, 0x04),
        "message of one byte": (us(b"\x05\x9d\x01\x00\x4c\x00" + route), 0x52, 0x20),
        "message runs past the end": (us(b"\x05\x9d\x40\x00" + inner), 0x52, 0x13),
    }
    for name, (raw, service, status) in cases.items():
        first, again = run(plc, raw), run(plc, raw)
        assert first == again, name
        reply = cip.decode_reply(first)
        assert (reply.service, reply.status) == (service, status), name
    # envelopes nested deeper than the Connection Manager allows: invalid parameter
    deep = inner
    for _ in range(5):
        deep = us(connection.encode_unconnected_send(deep, None))
    for _ in range(2):
        assert cip.decode_reply(run(plc, deep)).status == 0x20
    # 0x52 on a tag is Read Tag Fragmented, also after the Connection Manager's path was seen
    frag = req(0x52, "F", b"\x01\x00\x00\x00\x00\x00")
    assert cip.decode_reply(run(plc, frag)).service == 0x52


def test_multiple_service_packet(plc):
    plc.tags["D"].attribute[0:2] = [5, 6]
    inner = [
        req(0x4C, [{"symbolic": "D"}, {"element": 1}], b"\x01\x00"),
        req(0x4C, "NOPE", b"\x01\x00"),
        req(0x4D, "F", tags.encode_write_tag(0xCA, 1, REAL.encode([2.5]))),
    ]
    raw = cip.encode_request(0x0A, cip.MESSAGE_ROUTER_EPATH, cip.encode_multiple(inner))
    reply = cip.decode_reply(run(plc, raw))
    assert reply.status == 0x1E  # one embedded request failed
    replies = [cip.decode_reply(r) for r in cip.decode_multiple(reply.data)]
    assert [(r.service, r.status) for r in replies] == [(0x4C, 0), (0x4C, 0x04), (0x4D, 0)]
    assert bytes(replies[0].data) == b"\xc4\x00\x06\x00\x00\x00"
    assert plc.tags["F"].attribute[0] == 2.5
    # a malformed offset table: invalid parameter
    bad = cip.encode_request(0x0A, cip.MESSAGE_ROUTER_EPATH, b"\x02\x00\x06\x00\x04\x00")
    assert cip.decode_reply(run(plc, bad)).status != 0
    # replies that cannot fit the connection are cut short: 0x06 partial data, then 0x11
    big = cip.encode_multiple([req(0x4C, "SCADA", tags.encode_read_tag(400))] * 2)
    raw = run(plc, cip.encode_request(0x0A, cip.MESSAGE_ROUTER_EPATH, big))
    reply = cip.decode_reply(raw)
    parts = [cip.decode_reply(r) for r in cip.decode_multiple(reply.data)]
    assert [p.status for p in parts] == [0x06, 0x11] and len(raw) <= 504


def test_forward_open_and_close():
    plc = Controller()
    fo = connection.ForwardOpen(
        t_o_connection_id=9,
        connection_serial=1,
        vendor_id=2,
        originator_serial=3,
        timeout_multiplier=1,
        o_t_rpi=1_000_000,
        o_t_parameters=0x43F8,
        t_o_rpi=1_000_000,
        t_o_parameters=0x43F8,
        connection_path=[{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}],
    )
    raw = cip.encode_request(0x54, cip.CONNECTION_MANAGER_EPATH, connection.encode_forward_open(fo))
    reply = cip.decode_reply(plc.request(raw, Context(session=5, now=100.0)))
    assert reply.status == 0
    opened = connection.decode_forward_open_reply(reply.data)
    assert (opened.t_o_connection_id, opened.connection_serial, opened.o_t_api) == (9, 1, 1_000_000)
    conn = plc.connections.get(opened.o_t_connection_id)
    assert conn is not None and conn.t_o_size == 504 and conn.timeout == pytest.approx(8.0)
    # the same triad again: duplicate Forward Open
    dup = cip.decode_reply(plc.request(raw, Context(session=5)))
    assert (dup.status, dup.ext_status) == (0x01, (0x0100,))
    # silence beyond RPI x (4 << multiplier) drops it
    assert plc.connections.get(opened.o_t_connection_id, now=107.9) is conn
    assert plc.connections.get(opened.o_t_connection_id, now=108.1) is None
    # the connection is gone, so Forward Close does not find it
    fc = connection.encode_forward_close(
        connection.ForwardClose(connection_serial=1, vendor_id=2, originator_serial=3)
    )
    reply = cip.decode_reply(
        plc.request(cip.encode_request(0x4E, cip.CONNECTION_MANAGER_EPATH, fc), Context())
    )
    assert reply.status == 0x01


def test_forward_open_rejections():
    plc = Controller()

    def open_(**kw):
        fo = connection.ForwardOpen(
            connection_serial=kw.pop("serial", 1),
            o_t_parameters=kw.pop("size", 4000),
            t_o_parameters=kw.pop("size2", 4000),
            connection_path=kw.pop("path", [{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}]),
            transport=kw.pop("transport", 0xA3),
            large=True,
        )
        raw = cip.encode_request(
            0x5B, cip.CONNECTION_MANAGER_EPATH, connection.encode_forward_open(fo)
        )
        return cip.decode_reply(plc.request(raw, Context()))

    assert open_(size=9000).ext_status == (0x0109,)
    assert open_(path=[{"class": 1}, {"instance": 1}]).ext_status == (0x0315,)
    assert open_(transport=0x01).ext_status == (0x0108,)
    assert open_().status == 0


def test_convert_values_rules():
    assert convert_values([1, 0], INT, device.Attribute("x", DINT).parser.__class__) == [1, 0]
    with pytest.raises(ValueError):
        convert_values([1.5], REAL, DINT)
    with pytest.raises(ValueError):
        convert_values([300], INT, type(device.Attribute("x", SSTRING, "").parser))


def test_blocking_attribute_raises_would_block_inline():
    class Slow(device.Attribute):
        def __getitem__(self, key):
            return super().__getitem__(key)

    plc = Controller()
    plc.add_tag("SLOW", DINT, attribute_class=Slow)
    plc.add_tag("FAST", DINT)
    raw = req(0x4C, "SLOW", b"\x01\x00")
    with pytest.raises(WouldBlock):
        plc.request(raw, Context(inline=True))
    assert plc.request(raw, Context(inline=False)) == bytes.fromhex("cc000000c40000000000")
    assert plc.request(req(0x4C, "FAST", b"\x01\x00"), Context(inline=True))[2] == 0
    msp = cip.encode_request(0x0A, cip.MESSAGE_ROUTER_EPATH, cip.encode_multiple([raw]))
    with pytest.raises(WouldBlock):
        plc.request(msp, Context(inline=True))


def test_blocking_is_decided_before_the_request_runs():
    """A request reaching an Attribute that may block is refused on the loop before any of its
    user code runs, then runs exactly once off the loop: alone, in a Multiple Service Packet,
    in an Unconnected Send, and on the tag's @class/instance/attribute address."""
    calls: list[object] = []

    class Slow(device.Attribute):
        def __getitem__(self, key):
            calls.append(key)
            return super().__getitem__(key)

    plc = Controller()
    plc.add_tag("SLOW", DINT, attribute_class=Slow, address=(0x04, 100, 3))
    plc.add_tag("FAST", DINT)
    read = req(0x4C, "SLOW", b"\x01\x00")
    msp = cip.encode_request(
        0x0A, cip.MESSAGE_ROUTER_EPATH, cip.encode_multiple([req(0x4C, "FAST", b"\x01\x00"), read])
    )
    ucs = cip.encode_request(
        0x52,
        epath.encode_epath([{"class": 0x06}, {"instance": 1}]),
        connection.encode_unconnected_send(read, [{"port": 1, "link": 0}]),
    )
    single = req(0x0E, [{"class": 0x04}, {"instance": 100}, {"attribute": 3}])
    for raw in (read, msp, ucs, single):
        calls.clear()
        with pytest.raises(WouldBlock):
            plc.request(raw, Context(inline=True))
        assert calls == []
        reply = plc.request(raw, Context(inline=False))
        assert reply[2] == 0 and len(calls) == 1
    assert plc.would_block(read) and plc.would_block(single) and plc.would_block(msp)
    assert not plc.would_block(req(0x4C, "FAST", b"\x01\x00"))


def test_forced_error_code_and_user_exceptions():
    class Broken(device.Attribute):
        blocking = False

        def __getitem__(self, key):
            raise RuntimeError("no data today")

    plc = Controller()
    plc.add_tag("X", DINT, attribute_class=Broken)
    plc.add_tag("Y", DINT)
    reply = cip.decode_reply(plc.request(req(0x4C, "X", b"\x01\x00"), Context(inline=True)))
    assert reply.status == 0x1F
    plc.tags["Y"].attribute.error = 0x08
    assert cip.decode_reply(plc.request(req(0x4C, "Y", b"\x01\x00"), Context())).status == 0x08


def test_a_user_attribute_chooses_its_error_status_with_cip_error():
    class Refusing(device.Attribute):
        blocking = False

        def __setitem__(self, key, value):
            raise device.CipError(0x0F)

    plc = Controller()
    plc.add_tag("X", DINT, attribute_class=Refusing)
    write = req(0x4D, "X", tags.encode_write_tag(0xC4, 1, b"\x01\x00\x00\x00"))
    assert cip.decode_reply(plc.request(write, Context(inline=True))).status == 0x0F


def test_repeated_reads_follow_values_errors_sizes_and_hooks(plc):
    raw = req(0x4C, [{"symbolic": "D"}, {"element": 1}], b"\x01\x00")
    assert run(plc, raw) == bytes.fromhex("cc000000c40000000000")
    plc.tags["D"].attribute[1] = 9
    assert run(plc, raw) == bytes.fromhex("cc000000c40009000000")
    plc.tags["D"].attribute.error = 0x08
    assert run(plc, raw) == bytes.fromhex("cc000800")
    plc.tags["D"].attribute.error = 0
    big = req(0x4C, "SCADA", tags.encode_read_tag(300))
    assert cip.decode_reply(run(plc, big, 4000)).status == 0
    assert cip.decode_reply(run(plc, big, 504)).status == 0x06  # what fits this connection
    printed = []
    plc.on_access = lambda tag, index, values, kind: printed.append((tag.name, index, values, kind))
    run(plc, raw)
    assert printed == [("D", 1, [9], "read")]
    plc.on_access = None
    plc.tags.remove("D")
    assert run(plc, raw) == bytes.fromhex("cc000400")  # gone: path segment error
