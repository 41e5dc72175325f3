"""Benchmark: encode/decode rates of the sans-IO codec (cpppo.server.enip.codec), with pylogix
1.1.6 and pycomm3 1.2.16 building/parsing the same messages in the same run where their code can
be called without a socket.

Messages: RegisterSession (encapsulation header + payload), a connected Read Tag request of
'SCADA' (SendUnitData: CPF + CIP + symbolic EPATH), its reply (a DINT), and the stream framer.
Every row checks that the peers' bytes equal ours before timing, so like is compared with like.

    python bench/codec.py [--seconds 0.3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from cpppo.server.enip.codec import cip, encap, types

SESSION, CID, SEQ, CTX = 0x11021E01, 0x20000002, 7, b"_pycomm_"
TAG = "SCADA"
PATH = [{"symbolic": TAG}]
REQUEST = encap.encode_unit_message(
    cip.encode_request(0x4C, PATH, cip.encode_read_tag(1)), SESSION, CID, SEQ, CTX
)
REPLY = encap.encode_unit_message(
    cip.encode_reply(0x4C, data=cip.encode_typed_data(0xC4, types.DINT.encode([1234]))),
    SESSION,
    CID,
    SEQ,
    CTX,
)


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn``: best of 3 timed batches sized to take ~``seconds`` each."""
    n = 1
    while True:  # size a batch
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - start > seconds / 10 or n >= 1 << 22:
            break
        n *= 2
    batch = max(1, int(n * seconds / max(time.perf_counter() - start, 1e-9) / 10 * 10))
    batch = min(batch, 1 << 24)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, time.perf_counter() - start)
    return batch / best


# --- ours ------------------------------------------------------------------------------------


def ours_register() -> bytes:
    return encap.encode_encap(0x65, encap.encode_register_session(), 0, 0, CTX)


def ours_header_decode() -> object:
    return encap.decode_header(REQUEST)


def ours_read_request() -> bytes:
    cipmsg = cip.encode_request(0x4C, PATH, cip.encode_read_tag(1))
    return encap.encode_unit_message(cipmsg, SESSION, CID, SEQ, CTX)


PATH_BYTES = b"\x91\x05SCADA\x00"


def ours_read_request_cached_path() -> bytes:
    cipmsg = cip.encode_request(0x4C, PATH_BYTES, cip.encode_read_tag(1))
    return encap.encode_unit_message(cipmsg, SESSION, CID, SEQ, CTX)


def ours_read_request_decode() -> tuple:
    ((_, payload),) = encap.EncapFramer().feed(REQUEST)
    _, _, message = encap.decode_unit_data(payload)
    req = cip.decode_request(message)
    return req.path, cip.decode_read_tag(req.data)


def ours_read_reply() -> bytes:
    data = cip.encode_typed_data(0xC4, types.DINT.encode([1234]))
    return encap.encode_unit_message(cip.encode_reply(0x4C, data=data), SESSION, CID, SEQ, CTX)


def ours_read_reply_decode() -> list:
    header = encap.decode_header(REPLY)
    _, _, message = encap.decode_unit_data(memoryview(REPLY)[24 : 24 + header.length])
    rpy = cip.decode_reply(message)
    typed = cip.decode_typed_data(rpy.data)
    return types.TYPES_BY_CODE[typed.code].decode(typed.data)


FRAMES = REQUEST * 20


def ours_framer_20() -> int:
    return len(encap.EncapFramer().feed(FRAMES))


# --- peers (built without a socket) -----------------------------------------------------------


def pylogix_rows() -> dict[str, Callable[[], object]] | str:
    try:
        from pylogix import PLC
    except ImportError as exc:  # pragma: no cover - a dev dependency
        return f"pylogix not importable: {exc}"
    plc = PLC()
    plc.conn._session_handle = SESSION
    plc.conn._ot_connection_id = CID
    plc.KnownTags[TAG] = (0xC4, 0)

    def register() -> bytes:
        return plc.conn._build_register_session()

    def read_request() -> bytes:
        plc.conn._sequence_counter = SEQ
        plc.conn._context_index = 0
        ioi = plc._build_ioi(TAG, 0xC4)
        return plc.conn._build_eip_header(plc._add_read_service(ioi, 1))

    def read_reply_decode() -> list:
        # what pylogix does with a received reply: status at byte 48, data from byte 50
        if REPLY[48] not in (0, 6):
            raise RuntimeError("status")
        return plc._parse_reply(TAG, 1, REPLY[50:])

    ours = ours_read_request()
    theirs = read_request()
    # pylogix's sender context differs (it cycles through its own); everything else is equal
    if theirs[:12] + theirs[20:] != ours[:12] + ours[20:]:
        return "pylogix builds a different Read Tag request; not comparable"
    if read_reply_decode() != [1234]:
        return "pylogix parses our reply differently; not comparable"
    return {
        "RegisterSession encode": register,
        "Read Tag request encode": read_request,
        "Read Tag reply decode": read_reply_decode,
    }


def pycomm3_rows() -> dict[str, Callable[[], object]] | str:
    try:
        from pycomm3.packets import ReadTagRequestPacket, RegisterSessionRequestPacket
    except ImportError as exc:  # pragma: no cover - a dev dependency
        return f"pycomm3 not importable: {exc}"
    from pycomm3.cip import DINT as P3DINT

    tag_info = {"tag_type": "atomic", "data_type": "DINT", "data_type_name": "DINT", "dim": 0}
    tag_info["type_class"] = P3DINT
    cid = CID.to_bytes(4, "little")

    def register() -> bytes:
        return RegisterSessionRequestPacket(b"\x01\x00", b"\x00\x00").build_request(None, 0, CTX, 0)

    def read_request() -> bytes:
        packet = ReadTagRequestPacket(SEQ, TAG, 1, tag_info, 1, use_instance_id=False)
        return packet.build_request(cid, SESSION, CTX, 0)

    def read_reply_decode() -> object:
        packet = ReadTagRequestPacket(SEQ, TAG, 1, tag_info, 1, use_instance_id=False)
        return packet.response_class(packet, REPLY).value

    if register() != ours_register():
        return "pycomm3 builds a different RegisterSession; not comparable"
    req = read_request()
    # pycomm3 sends a CPF timeout of 10 where we send 0; the rest must match
    if req[:28] + req[30:] != REQUEST[:28] + REQUEST[30:]:
        return "pycomm3 builds a different Read Tag request; not comparable"
    if read_reply_decode() != 1234:
        return "pycomm3 parses our reply differently; not comparable"
    return {
        "RegisterSession encode": register,
        "Read Tag request encode": read_request,
        "Read Tag reply decode": read_reply_decode,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=0.3, help="time per batch (default 0.3)")
    args = ap.parse_args(argv)

    ours = {
        "RegisterSession encode": ours_register,
        "Encapsulation header decode": ours_header_decode,
        "Read Tag request encode": ours_read_request,
        "Read Tag request encode (path bytes)": ours_read_request_cached_path,
        "Read Tag request decode (server)": ours_read_request_decode,
        "Read Tag reply encode (server)": ours_read_reply,
        "Read Tag reply decode": ours_read_reply_decode,
        "Framer: 20 requests in one feed": ours_framer_20,
    }
    peers = {"pylogix": pylogix_rows(), "pycomm3": pycomm3_rows()}
    notes = [f"{name}: {rows}" for name, rows in peers.items() if isinstance(rows, str)]
    peers = {name: rows for name, rows in peers.items() if not isinstance(rows, str)}

    head = f"{'operation':38} {'ours/s':>11}"
    for name in peers:
        head += f" {name + '/s':>11} {'x ' + name:>10}"
    print(head)
    print("-" * len(head))
    for label, fn in ours.items():
        ours_rate = rate(fn, args.seconds)
        line = f"{label:38} {ours_rate:11,.0f}"
        for rows in peers.values():
            peer = rows.get(label)
            if peer is None:
                line += f" {'-':>11} {'-':>10}"
            else:
                peer_rate = rate(peer, args.seconds)
                line += f" {peer_rate:11,.0f} {ours_rate / peer_rate:9.2f}x"
        print(line, flush=True)
    print()
    print("'-': the peer has no socket-free code for this (servers only, or parsing is inline).")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
