"""Ground truth: every EtherNet/IP message a real ControlLogix session carried decodes with the
codec and re-encodes to the same bytes, at every layer (encapsulation, CPF, CIP, Unconnected Send,
tag services).

The capture (controllogix-SCADA-read-write.pcapng) is read with the small pcapng reader below:
Section Header, Interface Description and Enhanced Packet Blocks; Ethernet / IPv4 / TCP; TCP
payloads reassembled per direction by sequence number.
"""

from __future__ import annotations

import struct

import pytest

from cpppo.server.enip.codec import cip, cpf, encap, epath, types
from cpppo.server.enip.codec.encap import Command, EncapFramer

ENIP_PORT = 44818

# --- a tiny pcapng reader ---------------------------------------------------------------------

_SHB = 0x0A0D0D0A
_IDB = 0x00000001
_EPB = 0x00000006
_LINKTYPE_ETHERNET = 1


def pcapng_packets(data: bytes) -> list[tuple[int, bytes]]:
    """(link type, packet bytes) of every Enhanced Packet Block, in file order."""
    packets = []
    links: list[int] = []
    endian = "<"
    pos = 0
    while pos + 12 <= len(data):
        (block_type,) = struct.unpack_from("<I", data, pos)
        if block_type == _SHB:
            (magic,) = struct.unpack_from("<I", data, pos + 8)
            endian = "<" if magic == 0x1A2B3C4D else ">"
            links = []  # interface ids are per section
        block_type, length = struct.unpack_from(endian + "II", data, pos)
        if length < 12 or pos + length > len(data):
            raise ValueError(f"pcapng: bad block length {length} at {pos}")
        body = data[pos + 8 : pos + length - 4]
        if block_type == _IDB:
            links.append(struct.unpack_from(endian + "H", body, 0)[0])
        elif block_type == _EPB:
            iface, _, _, captured, _ = struct.unpack_from(endian + "IIIII", body, 0)
            packets.append((links[iface], body[20 : 20 + captured]))
        pos += length
    return packets


def tcp_segments(packets: list[tuple[int, bytes]]):
    """Yield (src, dst, seq, flags, payload) of the IPv4/TCP packets."""
    for link, frame in packets:
        if link != _LINKTYPE_ETHERNET:
            continue
        (ethertype,) = struct.unpack_from(">H", frame, 12)
        offset = 14
        if ethertype == 0x8100:  # 802.1Q tag
            (ethertype,) = struct.unpack_from(">H", frame, 16)
            offset = 18
        if ethertype != 0x0800:
            continue
        ip = frame[offset:]
        ihl = (ip[0] & 0x0F) * 4
        (total,) = struct.unpack_from(">H", ip, 2)
        if ip[9] != 6:  # TCP
            continue
        src_ip, dst_ip = ip[12:16], ip[16:20]
        tcp = ip[ihl:total]
        sport, dport, seq = struct.unpack_from(">HHI", tcp, 0)
        data_offset = (tcp[12] >> 4) * 4
        flags = tcp[13]
        yield (src_ip, sport), (dst_ip, dport), seq, flags, tcp[data_offset:]


def tcp_streams(packets: list[tuple[int, bytes]]) -> dict[tuple, bytes]:
    """Reassembled payload bytes per direction ((src, dst) -> bytes), by sequence number."""
    isn: dict[tuple, int] = {}
    pieces: dict[tuple, dict[int, bytes]] = {}
    for src, dst, seq, flags, payload in tcp_segments(packets):
        key = (src, dst)
        if flags & 0x02:  # SYN: the stream starts at seq + 1
            isn[key] = seq + 1
        if payload:
            pieces.setdefault(key, {}).setdefault(seq, bytes(payload))
    streams = {}
    for key, segs in pieces.items():
        start = isn.get(key, min(segs))
        out = bytearray()
        for seq in sorted(segs):
            rel = (seq - start) & 0xFFFFFFFF
            chunk = segs[seq]
            if rel + len(chunk) <= len(out):
                continue  # retransmission
            if rel > len(out):
                raise ValueError(f"gap in TCP stream {key} at {rel}")
            out += chunk[len(out) - rel :]
        streams[key] = bytes(out)
    return streams


# --- full decode / re-encode of every message ----------------------------------------------------


def recode_tag_request(service: int, data: memoryview) -> bytes:
    """Decode and re-encode the data of a request by service code."""
    if service == cip.Service.READ_TAG:
        return cip.encode_read_tag(*cip.decode_read_tag(data))
    if service == cip.Service.READ_TAG_FRAGMENTED:
        return cip.encode_read_tag_fragmented(*cip.decode_read_tag_fragmented(data))
    if service == cip.Service.WRITE_TAG_FRAGMENTED:
        w = cip.decode_write_tag_fragmented(data)
        value = types.TYPES_BY_CODE[w.code].decode(w.data)
        assert len(value) == w.elements
        return cip.encode_write_tag_fragmented(
            w.code, w.elements, w.offset, types.TYPES_BY_CODE[w.code].encode(value), w.handle
        )
    assert service in (cip.Service.GET_ATTRIBUTES_ALL,), hex(service)
    return bytes(data)


def recode_request(message: memoryview, seen: list) -> bytes:
    """Decode a CIP request completely (unwrapping Unconnected Send), then encode it again."""
    req = cip.decode_request(message)
    seen.append(("request", req.service, req.path))
    assert epath.encode_epath(req.path) == bytes(cip.split_request(message)[1])
    if req.service == cip.Service.UNCONNECTED_SEND and req.path == list(
        cip.CONNECTION_MANAGER_PATH
    ):
        us = cip.decode_unconnected_send(req.data)
        inner = recode_request(us.message, seen)
        data = cip.encode_unconnected_send(inner, us.route_path, us.priority_tick, us.timeout_ticks)
    else:
        data = recode_tag_request(req.service, req.data)
    return cip.encode_request(req.service, req.path, data)


def recode_reply(message: memoryview, seen: list) -> bytes:
    """Decode a CIP reply completely, then encode it again."""
    rpy = cip.decode_reply(message)
    seen.append(("reply", rpy.service, rpy.status))
    data = bytes(rpy.data)
    if rpy.status in (0, 6) and rpy.service in (0x4C, 0x52):
        typed = cip.decode_typed_data(rpy.data)
        values = types.TYPES_BY_CODE[typed.code].decode(typed.data)
        data = cip.encode_typed_data(typed.code, types.TYPES_BY_CODE[typed.code].encode(values))
    return cip.encode_reply(rpy.service, rpy.status, rpy.ext_status, data)


def recode_message(header: encap.EncapHeader, payload: memoryview, to_server: bool, seen: list):
    """Decode one encapsulated message at every layer, re-encode it, return the bytes."""
    if header.command == Command.REGISTER_SESSION:
        body = encap.encode_register_session(*encap.decode_register_session(payload))
    elif header.command == Command.SEND_RR_DATA:
        sd = encap.decode_send_data(payload)
        items = []
        for item in sd.items:
            data = item.data
            if item.type_id == cpf.UNCONNECTED_DATA:
                recode = recode_request if to_server else recode_reply
                data = recode(memoryview(item.data), seen)
                assert bytes(encap.decode_rr_data(payload)) == bytes(item.data)
            items.append((item.type_id, data))
        body = encap.encode_send_data(items, sd.interface, sd.timeout)
    else:
        raise AssertionError(f"unexpected command 0x{header.command:02X}")
    return encap.encode_encap(
        header.command, body, header.session, header.status, header.context, header.options
    )


@pytest.fixture(scope="module")
def streams(shared_data):
    capture = shared_data / "controllogix-SCADA-read-write.pcapng"
    return tcp_streams(pcapng_packets(capture.read_bytes()))


def test_capture_has_both_directions(streams):
    ports = sorted((src[1], dst[1]) for src, dst in streams)
    assert len(ports) == 2 and (ENIP_PORT in ports[0]) and (ENIP_PORT in ports[1])


def test_every_message_round_trips(streams):
    seen: list = []
    counts = {}
    for (_, dst), data in streams.items():
        to_server = dst[1] == ENIP_PORT
        framer = EncapFramer()
        frames = framer.feed(data)
        assert framer.buffered == 0
        counts[to_server] = len(frames)
        rebuilt = b"".join(recode_message(h, p, to_server, seen) for h, p in frames)
        assert rebuilt == data  # byte for byte, the whole direction
    assert counts == {True: 7, False: 7}
    # the decoded content is what the session did
    requests = [s for s in seen if s[0] == "request"]
    assert ("request", 0x01, [{"class": 0x66}, {"instance": 1}]) in requests
    assert ("request", 0x01, [{"class": 1}, {"instance": 1}]) in requests
    assert ("request", 0x52, [{"symbolic": "SCADA"}]) in requests
    assert ("request", 0x53, [{"symbolic": "SCADA"}, {"element": 12}]) in requests
    assert all(s[2] == 0 for s in seen if s[0] == "reply")


def test_identity_reply_and_values(streams):
    server = next(data for (src, _), data in streams.items() if src[1] == ENIP_PORT)
    frames = EncapFramer().feed(server)
    assert frames[0][0].session == 0x11021E01  # the controller's session handle
    replies = [cip.decode_reply(encap.decode_rr_data(p)) for h, p in frames[1:]]
    ident = replies[1]
    assert ident.service == cip.Service.GET_ATTRIBUTES_ALL
    assert struct.unpack_from("<HHHBBHI", ident.data) == (1, 14, 54, 20, 11, 0x3160, 0x006C061A)
    assert types.SSTRING.decode(ident.data[14:]) == ["1756-L61/B LOGIX5561"]
    reads = [cip.decode_typed_data(r.data) for r in replies if r.service == 0x52]
    assert types.INT.decode(reads[0].data) == [-32729]
    # the second read asked SCADA for 20 INTs from byte offset 2: 19 come back
    assert len(types.INT.decode(reads[1].data)) == 19
