"""Every codec decoder, fed arbitrary or mutated bytes, returns or raises DecodeError -- never
IndexError, struct.error, UnicodeDecodeError or anything else -- and never allocates beyond its
input (counts are checked against the bytes present)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpppo.server.enip.codec import cip, cpf, encap, epath, types
from cpppo.server.enip.codec.errors import DecodeError
from cpppo.server.enip.codec.identity import decode_identity_attributes

DECODERS = {
    "decode_header": encap.decode_header,
    "decode_encap": encap.decode_encap,
    "decode_register_session": encap.decode_register_session,
    "decode_send_data": encap.decode_send_data,
    "decode_rr_data": encap.decode_rr_data,
    "decode_unit_data": encap.decode_unit_data,
    "decode_cpf": cpf.decode_cpf,
    "decode_identity": cpf.decode_identity,
    "decode_services": cpf.decode_services,
    "decode_sockaddr": cpf.decode_sockaddr,
    "decode_epath": epath.decode_epath,
    "decode_epath_packed": lambda b: epath.decode_epath(b, padded=False),
    "decode_sized_epath": epath.decode_sized_epath,
    "decode_route_path": epath.decode_route_path,
    "decode_request": cip.decode_request,
    "decode_reply": cip.decode_reply,
    "decode_multiple": cip.decode_multiple,
    "decode_attribute_ids": cip.decode_attribute_ids,
    "decode_attribute_list_reply": lambda b: cip.decode_attribute_list_reply(b, {1: 2, 4: 4}),
    "decode_set_attribute_list": lambda b: cip.decode_set_attribute_list(b, {1: 2, 4: 4}),
    "decode_set_attribute_list_reply": cip.decode_set_attribute_list_reply,
    "decode_unconnected_send": cip.decode_unconnected_send,
    "decode_forward_open": cip.decode_forward_open,
    "decode_large_forward_open": lambda b: cip.decode_forward_open(b, large=True),
    "decode_forward_open_reply": cip.decode_forward_open_reply,
    "decode_forward_close": cip.decode_forward_close,
    "decode_forward_close_reply": cip.decode_forward_close_reply,
    "decode_connection_failure": cip.decode_connection_failure,
    "decode_read_tag": cip.decode_read_tag,
    "decode_read_tag_fragmented": cip.decode_read_tag_fragmented,
    "decode_write_tag": cip.decode_write_tag,
    "decode_write_tag_fragmented": cip.decode_write_tag_fragmented,
    "decode_read_modify_write": cip.decode_read_modify_write,
    "decode_typed_data": cip.decode_typed_data,
    "decode_type": cip.decode_type,
    "decode_symbol_records": lambda b: cip.decode_symbol_records(b, [1, 2, 3, 5, 6, 7, 8, 10]),
    "decode_template_attributes": cip.decode_template_attributes,
    "decode_template_read": cip.decode_template_read,
    "decode_identity_attributes": decode_identity_attributes,
    "decode_template_definition": lambda b: cip.decode_template_definition(b, b[0] if b else 0),
    **{f"type_{t.name}_{t.code:x}": t.decode for t in types.TYPES_BY_CODE.values()},
    "type_LOGIX_STRING": types.LOGIX_STRING.decode,
    "type_DINT_count": lambda b: types.DINT.decode(b, b[0] if b else 0),
    "type_SSTRING_count": lambda b: types.SSTRING.decode(b, b[0] if b else 0),
}

# Valid messages to mutate: structure-aware corruption reaches deeper than random bytes.
SEEDS = [
    bytes.fromhex("65000400011e02110000000000000000000000000000000001000000"),
    encap.encode_rr_data(bytes.fromhex("52022006240101fa060001022001240101000100")),
    encap.encode_unit_data(7, 1, bytes.fromhex("4c0491055343414441000100")),
    bytes.fromhex("52022006240101fa060001022001240101000100"),
    cip.encode_multiple([b"\x4c\x02\x91\x01A\x00\x01\x00", b"\x4d\x02\x91\x01B\x00\xc4\x00"]),
    cip.encode_forward_open(
        cip.ForwardOpen(connection_path=[{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}])
    ),
    epath.encode_epath([{"port": 2, "link": "10.0.0.1"}, {"class": 0x6B}, {"instance": 300}]),
    cip.encode_symbol_record(
        1, [1, 2, 3, 5, 6, 7, 8, 10], dict.fromkeys(range(11), 1) | {1: "ab", 8: [1, 2, 3]}
    ),
    cip.encode_template_attributes([4, 5, 2, 1], {1: 0xFCE, 2: 2, 4: 15, 5: 88}),
    cpf.encode_cpf([(cpf.IDENTITY, cpf.encode_identity(cpf.IdentityItem(product_name="x")))]),
]


def _check(decoder, data: bytes) -> None:
    try:
        decoder(data)
    except DecodeError:
        pass


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=96))
def test_random_bytes(name, data):
    _check(DECODERS[name], data)
    _check(DECODERS[name], memoryview(data))


@st.composite
def mutated(draw):
    seed = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "cut", "insert", "ff"]))
        pos = draw(st.integers(0, max(0, len(seed) - 1)))
        if op == "set" and seed:
            seed[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del seed[pos:]
        elif op == "insert":
            seed[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif seed:
            seed[pos] = 0xFF
    return bytes(seed)


@settings(max_examples=300, deadline=None)
@given(data=mutated())
def test_mutated_messages(data):
    for decoder in DECODERS.values():
        _check(decoder, data)
    # a stream of mutated frames: the framer returns frames or raises DecodeError
    framer = encap.EncapFramer(max_length=512)
    try:
        for header, payload in framer.feed(data + data):
            assert len(payload) == header.length
    except DecodeError as exc:
        assert exc.encap_status == 0x65


# --- property round trips: decode(encode(x)) == x -------------------------------------------

_names = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), min_size=1, max_size=40
)
_logical = st.one_of(
    st.builds(
        lambda k, v: {k: v},
        st.sampled_from(["class", "instance", "attribute", "element", "connection"]),
        st.integers(0, 2**32 - 1),
    )
)
_segment = st.one_of(
    _logical,
    st.builds(lambda n: {"symbolic": n}, _names),
    st.builds(
        lambda p, link: {"port": p, "link": link},
        st.integers(1, 0xFFFF),
        st.one_of(st.integers(0, 255), st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3}){3}\Z")),
    ),
)


@settings(max_examples=200, deadline=None)
@given(segments=st.lists(_segment, max_size=6), padded=st.booleans())
def test_epath_round_trip(segments, padded):
    wire = epath.encode_epath(segments, padded)
    assert epath.decode_epath(wire, padded) == segments
    if padded:
        assert len(wire) % 2 == 0


@settings(max_examples=100, deadline=None)
@given(messages=st.lists(st.binary(max_size=40), max_size=10))
def test_multiple_round_trip(messages):
    assert [bytes(m) for m in cip.decode_multiple(cip.encode_multiple(messages))] == messages


@settings(max_examples=100, deadline=None)
@given(
    message=st.binary(min_size=2, max_size=60),
    route=st.one_of(st.none(), st.lists(_segment.filter(lambda s: "port" in s), max_size=3)),
    tick=st.integers(0, 255),
    ticks=st.integers(0, 255),
)
def test_unconnected_send_round_trip(message, route, tick, ticks):
    us = cip.decode_unconnected_send(cip.encode_unconnected_send(message, route, tick, ticks))
    assert (bytes(us.message), us.route_path, us.priority_tick, us.timeout_ticks) == (
        message,
        route,
        tick,
        ticks,
    )


_u32 = st.integers(0, 2**32 - 1)
_u16 = st.integers(0, 2**16 - 1)


@settings(max_examples=100, deadline=None)
@given(
    large=st.booleans(),
    ids=st.tuples(_u32, _u32, _u16, _u16, _u32, _u32, _u32),
    params=st.tuples(_u16, _u16),
    path=st.lists(_segment, max_size=4),
)
def test_forward_open_round_trip(large, ids, params, path):
    ot_cid, to_cid, csn, vendor, serial, ot_rpi, to_rpi = ids
    fo = cip.ForwardOpen(
        0x0A,
        5,
        ot_cid,
        to_cid,
        csn,
        vendor,
        serial,
        3,
        ot_rpi,
        params[0],
        to_rpi,
        params[1],
        0xA3,
        path,
        large,
    )
    assert cip.decode_forward_open(cip.encode_forward_open(fo), large) == fo


@settings(max_examples=100, deadline=None)
@given(
    cls=st.sampled_from([t for t in types.TYPES_BY_CODE.values() if t.min is not None]),
    data=st.data(),
)
def test_integer_types_round_trip(cls, data):
    values = data.draw(st.lists(st.integers(cls.min, cls.max), max_size=20))
    if cls is types.BOOL:
        values = [bool(v) for v in values]
    assert cls.decode(cls.encode(values)) == values


@settings(max_examples=100, deadline=None)
@given(
    strings=st.lists(st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=82), max_size=5)
)
def test_string_types_round_trip(strings):
    for cls in (types.SSTRING, types.STRING, types.LOGIX_STRING):
        assert cls.decode(cls.encode(strings)) == strings
