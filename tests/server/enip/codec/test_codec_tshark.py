"""Wireshark agrees with our encoders: a session built entirely from codec encoders (every
encapsulation command, Forward Open/Close, Unconnected Send, Logix tag services, Multiple Service
Packet, Symbol and Template services, error replies) is written to a pcap and dissected by tshark,
which must find no malformed packet and no expert error."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from cpppo.server.enip.codec import cip, cpf, encap, types
from cpppo.server.enip.codec.encap import Command

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")

CLIENT = (bytes([127, 0, 0, 1]), 50000)
SERVER = (bytes([127, 0, 0, 2]), 44818)
SESSION = 0x11021E01
CTX = b"_pycomm_"
O_T, T_O = 0x80010001, 0x12345678
MR = cip.MESSAGE_ROUTER_EPATH
CM = cip.CONNECTION_MANAGER_EPATH
ROUTE = [{"port": 1, "link": 0}]


def write_pcap(path, messages):
    """A pcap of one TCP connection carrying ``messages`` [(to_server, bytes)]."""
    seq = {True: 1000, False: 5000}
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, (to_server, payload) in enumerate(messages):
        (src, sport), (dst, dport) = (CLIENT, SERVER) if to_server else (SERVER, CLIENT)
        tcp = struct.pack(
            ">HHIIBBHHH", sport, dport, seq[to_server], seq[not to_server], 0x50, 0x18, 65535, 0, 0
        )
        seq[to_server] += len(payload)
        total = 20 + len(tcp) + len(payload)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, i, 0x4000, 64, 6, 0, src, dst)
        frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp + payload
        out.append(struct.pack("<IIII", 1000 + i, 0, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def rr(cip_message: bytes) -> bytes:
    return encap.encode_rr_message(cip_message, SESSION, CTX)


def unit(cip_message: bytes, cid: int, seq: int) -> bytes:
    return encap.encode_unit_message(cip_message, SESSION, cid, seq, CTX)


def session() -> list[tuple[bool, bytes]]:
    """A plausible client/controller conversation, built only from codec encoders."""
    m: list[tuple[bool, bytes]] = []
    ident = cpf.IdentityItem(
        sin_addr="127.0.0.2",
        vendor_id=1,
        device_type=14,
        product_code=54,
        product_revision=2836,
        status_word=0x3160,
        serial_number=7079450,
        product_name="1756-L61/B LOGIX5561",
    )
    m.append((True, encap.encode_encap(Command.LIST_IDENTITY, b"", context=CTX)))
    m.append(
        (
            False,
            encap.encode_encap(
                Command.LIST_IDENTITY,
                cpf.encode_cpf([(cpf.IDENTITY, cpf.encode_identity(ident))]),
                context=CTX,
            ),
        )
    )
    m.append((True, encap.encode_encap(Command.LIST_SERVICES, b"", context=CTX)))
    m.append(
        (
            False,
            encap.encode_encap(
                Command.LIST_SERVICES,
                cpf.encode_cpf([(cpf.SERVICES, cpf.encode_services(cpf.ServicesItem()))]),
                context=CTX,
            ),
        )
    )
    m.append(
        (
            True,
            encap.encode_encap(
                Command.REGISTER_SESSION, encap.encode_register_session(), context=CTX
            ),
        )
    )
    m.append(
        (
            False,
            encap.encode_encap(
                Command.REGISTER_SESSION, encap.encode_register_session(), SESSION, context=CTX
            ),
        )
    )
    # Unconnected Send wrapping Get Attributes All on Identity; the reply comes back unwrapped
    gaa = cip.encode_request(0x01, [{"class": 1}, {"instance": 1}])
    m.append(
        (True, rr(cip.encode_request(0x52, CM, cip.encode_unconnected_send(gaa, ROUTE, 0x0A, 5))))
    )
    from cpppo.server.enip.codec.identity import IdentityAttributes, encode_identity_attributes

    attrs = IdentityAttributes(1, 14, 54, 2836, 0x3160, 7079450, "1756-L61/B LOGIX5561", 255, 0, 0)
    m.append((False, rr(cip.encode_reply(0x01, data=encode_identity_attributes(attrs)))))
    # Large Forward Open, refused; then Forward Open, accepted
    path = [{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}]
    lfo = cip.ForwardOpen(
        0x0A,
        5,
        0,
        T_O,
        0x0427,
        0x1009,
        0xDEADBEEF,
        7,
        0x204001,
        0x42000FA0,
        0x204001,
        0x42000FA0,
        0xA3,
        path,
        large=True,
    )
    m.append((True, rr(cip.encode_request(0x5B, CM, cip.encode_forward_open(lfo)))))
    fail = cip.ConnectionFailure(0x0427, 0x1009, 0xDEADBEEF, 0)
    m.append(
        (False, rr(cip.encode_reply(0x5B, 0x01, (0x0109,), cip.encode_connection_failure(fail))))
    )
    fo = cip.ForwardOpen(
        0x0A,
        5,
        0,
        T_O,
        0x0427,
        0x1009,
        0xDEADBEEF,
        7,
        0x204001,
        0x43F4,
        0x204001,
        0x43F4,
        0xA3,
        path,
    )
    m.append((True, rr(cip.encode_request(0x54, CM, cip.encode_forward_open(fo)))))
    fo_reply = cip.ForwardOpenReply(O_T, T_O, 0x0427, 0x1009, 0xDEADBEEF, 0x204001, 0x204001)
    m.append((False, rr(cip.encode_reply(0x54, data=cip.encode_forward_open_reply(fo_reply)))))
    seq = 0

    def connected(request: bytes, reply: bytes) -> None:
        nonlocal seq
        seq += 1
        m.append((True, unit(request, O_T, seq)))
        m.append((False, unit(reply, T_O, seq)))

    # tag services
    scada = [{"symbolic": "SCADA"}, {"element": 1}]
    connected(
        cip.encode_request(0x4C, scada, cip.encode_read_tag(2)),
        cip.encode_reply(0x4C, data=cip.encode_typed_data(0xC4, types.DINT.encode([1, 2]))),
    )
    connected(
        cip.encode_request(0x52, [{"symbolic": "SCADA"}], cip.encode_read_tag_fragmented(100, 0)),
        cip.encode_reply(0x52, 0x06, (), cip.encode_typed_data(0xC4, types.DINT.encode(range(10)))),
    )
    connected(
        cip.encode_request(0x4D, scada, cip.encode_write_tag(0xC4, 1, types.DINT.encode([7]))),
        cip.encode_reply(0x4D),
    )
    connected(
        cip.encode_request(
            0x53,
            [{"symbolic": "SCADA"}],
            cip.encode_write_tag_fragmented(0xC3, 2, 0, b"\x01\x00\x02\x00"),
        ),
        cip.encode_reply(0x53),
    )
    text = [{"symbolic": "TEXT"}]
    connected(
        cip.encode_request(
            0x4D, text, cip.encode_write_tag(0x02A0, 1, types.LOGIX_STRING.encode(["hi"]), 0x0FCE)
        ),
        cip.encode_reply(0x4D),
    )
    connected(
        cip.encode_request(
            0x4E, [{"symbolic": "Bits"}], cip.encode_read_modify_write(4, 0x20, 0xFFFFFFFF)
        ),
        cip.encode_reply(0x4E),
    )
    connected(
        cip.encode_request(0x4C, [{"symbolic": "NOPE"}], cip.encode_read_tag(1)),
        cip.encode_reply(0x4C, 0x04, (0x0000,)),
    )
    connected(
        cip.encode_request(0x4D, scada, cip.encode_write_tag(0xCA, 1, types.REAL.encode([1.5]))),
        cip.encode_reply(0x4D, 0xFF, (0x2107,)),
    )
    # Multiple Service Packet
    reqs = [
        cip.encode_request(0x4C, [{"symbolic": "A"}], cip.encode_read_tag(1)),
        cip.encode_request(0x4C, [{"symbolic": "B"}], cip.encode_read_tag(1)),
    ]
    rpys = [
        cip.encode_reply(0x4C, data=cip.encode_typed_data(0xCA, types.REAL.encode([1.0]))),
        cip.encode_reply(0x4C, 0x05),
    ]
    connected(
        cip.encode_request(0x0A, MR, cip.encode_multiple(reqs)),
        cip.encode_reply(0x0A, 0x1E, (), cip.encode_multiple(rpys)),
    )
    # Symbol object listing and a template
    attrs55 = [1, 2, 3, 5, 6, 8, 10]
    record = cip.encode_symbol_record(
        868, attrs55, {1: "SCADA", 2: 0x20C4, 3: 0, 5: 0, 6: 0x04010000, 8: [1000, 0, 0], 10: 0}
    )
    connected(
        cip.encode_request(
            0x55, [{"class": 0x6B}, {"instance": 0}], cip.encode_attribute_ids(attrs55)
        ),
        cip.encode_reply(0x55, data=record),
    )
    connected(
        cip.encode_request(
            0x03, [{"class": 0x6C}, {"instance": 0x0FCE}], cip.encode_attribute_ids([4, 5, 2, 1])
        ),
        cip.encode_reply(
            0x03, data=cip.encode_template_attributes([4, 5, 2, 1], {1: 0x0FCE, 2: 2, 4: 15, 5: 88})
        ),
    )
    blob = cip.encode_template_definition(
        [cip.TemplateMember(0, 0xC4, 0), cip.TemplateMember(82, 0xC2, 4)],
        ["ASCIISTRING82", "LEN", "DATA"],
    )
    connected(
        cip.encode_request(
            0x4C, [{"class": 0x6C}, {"instance": 0x0FCE}], cip.encode_template_read(0, 39)
        ),
        cip.encode_reply(0x4C, data=blob),
    )
    # Forward Close, then UnRegisterSession
    fc = cip.ForwardClose(0x0A, 5, 0x0427, 0x1009, 0xDEADBEEF, path)
    m.append((True, rr(cip.encode_request(0x4E, CM, cip.encode_forward_close(fc)))))
    fcr = cip.ForwardCloseReply(0x0427, 0x1009, 0xDEADBEEF)
    m.append((False, rr(cip.encode_reply(0x4E, data=cip.encode_forward_close_reply(fcr)))))
    m.append((True, encap.encode_encap(Command.UNREGISTER_SESSION, b"", SESSION, context=CTX)))
    return m


def tshark(*args: str) -> str:
    result = subprocess.run(
        [TSHARK, "-n", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def test_wireshark_finds_nothing_malformed(tmp_path):
    cap = tmp_path / "codec.pcap"
    messages = session()
    write_pcap(cap, messages)
    fields = tshark("-r", str(cap), "-T", "fields", "-e", "frame.number", "-e", "enip.command")
    commands = [line.split("\t")[1] for line in fields.splitlines()]
    assert len(commands) == len(messages) and all(commands)  # every frame dissected as ENIP
    bad = tshark("-r", str(cap), "-Y", "_ws.malformed or _ws.expert.severity >= 8388608")
    assert bad == "", bad
    services = tshark("-r", str(cap), "-T", "fields", "-e", "cip.sc")
    seen = {int(s, 16) for line in services.splitlines() for s in line.split(",") if s}
    assert {0x01, 0x4C, 0x4D, 0x4E, 0x52, 0x53, 0x54, 0x5B, 0x0A, 0x55, 0x03} <= {
        s & 0x7F for s in seen
    }
