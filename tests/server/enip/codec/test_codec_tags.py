"""Byte-vector tests of Logix tag services, Symbol and Template records (codec.tags)."""

import json

import pytest

from cpppo.server.enip.codec import cip, types
from cpppo.server.enip.codec.errors import DecodeError, EncodeError
from cpppo.server.enip.codec.tags import (
    ReadModifyWrite,
    ReadTag,
    ReadTagFragmented,
    SymbolType,
    TemplateMember,
    TemplateRead,
    TypedData,
    WriteTag,
    decode_read_modify_write,
    decode_read_tag,
    decode_read_tag_fragmented,
    decode_symbol_records,
    decode_symbol_type,
    decode_template_attributes,
    decode_template_definition,
    decode_template_read,
    decode_typed_data,
    decode_write_tag,
    decode_write_tag_fragmented,
    encode_read_modify_write,
    encode_read_tag,
    encode_read_tag_fragmented,
    encode_symbol_record,
    encode_symbol_type,
    encode_template_attributes,
    encode_template_definition,
    encode_template_read,
    encode_typed_data,
    encode_write_tag,
    encode_write_tag_fragmented,
    template_definition_words,
)


def test_read_tag_and_fragmented():
    assert encode_read_tag(10) == b"\x0a\x00"
    assert decode_read_tag(b"\x0a\x00") == ReadTag(10)
    assert encode_read_tag_fragmented(20, 0x28) == bytes.fromhex("1400 28000000")
    assert decode_read_tag_fragmented(bytes.fromhex("1400 28000000")) == ReadTagFragmented(20, 40)
    for bad, decode in ((b"\x01", decode_read_tag), (b"\x01\x00\x00", decode_read_tag_fragmented)):
        with pytest.raises(DecodeError) as info:
            decode(bad)
        assert info.value.status == 0x13
    with pytest.raises(EncodeError):
        encode_read_tag(70000)


def test_pycomm3_single_write_with_trailing_duplicate():
    # field notes 2.4: seq | 4D path type count value | seq2 | 4D path type count value
    wire = bytes.fromhex("4d02206b246bc40001000700000026004d02206b246bc400010007000000")
    req = cip.decode_request(wire)
    assert req.service == cip.Service.WRITE_TAG
    assert req.path == [{"class": 0x6B}, {"instance": 0x6B}]
    wt = decode_write_tag(req.data)
    assert (wt.code, wt.handle, wt.elements) == (0xC4, None, 1)
    assert types.DINT.decode(wt.data, count=wt.elements) == [7]
    assert encode_write_tag(0xC4, 1, b"\x07\x00\x00\x00") == bytes(req.data)[:8]


def test_write_tag_string_structure():
    # pylogix writes a STRING as a0 02 ce 0f, count, 88 bytes
    value = types.LOGIX_STRING.encode(["Hello"])
    wire = encode_write_tag(0x02A0, 1, value, handle=0x0FCE)
    assert wire[:6] == bytes.fromhex("a002ce0f0100")
    assert decode_write_tag(wire) == WriteTag(0x02A0, 0x0FCE, 1, memoryview(value))
    with pytest.raises(DecodeError):
        decode_write_tag(bytes.fromhex("c400"))
    with pytest.raises(EncodeError):
        encode_write_tag(0x02A0, 1, value)


def test_write_tag_fragmented_from_capture():
    # controllogix-SCADA-read-write.pcapng frame 20 (inside the Unconnected Send)
    wire = bytes.fromhex("530591055343414441002" + "80cc300010000000000c940")
    req = cip.decode_request(wire)
    assert req.path == [{"symbolic": "SCADA"}, {"element": 12}]
    wf = decode_write_tag_fragmented(req.data)
    assert (wf.code, wf.handle, wf.elements, wf.offset) == (0xC3, None, 1, 0)
    assert types.INT.decode(wf.data) == [0x40C9]
    assert encode_write_tag_fragmented(0xC3, 1, 0, b"\xc9\x40") == bytes(req.data)
    assert decode_write_tag_fragmented(
        encode_write_tag_fragmented(0x02A0, 3, 88, b"x", handle=0x0FCE)
    ) == (0x02A0, 0x0FCE, 3, 88, memoryview(b"x"))
    with pytest.raises(DecodeError):
        decode_write_tag_fragmented(bytes.fromhex("c300 0100 0000"))


def test_read_modify_write():
    # pylogix: set bit 5 of a DINT
    wire = bytes.fromhex("0400 20000000 ffffffff")
    assert encode_read_modify_write(4, 0x20, 0xFFFFFFFF) == wire
    assert decode_read_modify_write(wire) == ReadModifyWrite(4, 0x20, 0xFFFFFFFF)
    # pycomm3: AND mask always 8 bytes; take the first ``size``
    wire = bytes.fromhex("0400 00000000 dfffffff ffffffff")
    assert decode_read_modify_write(wire) == ReadModifyWrite(4, 0, 0xFFFFFFDF)
    assert decode_read_modify_write(bytes.fromhex("0100 01 fe")) == (1, 1, 0xFE)
    with pytest.raises(DecodeError) as info:
        decode_read_modify_write(bytes.fromhex("0300 000000 ffffff"))
    assert info.value.status == 0x20
    for bad in ("", "04", "0400 20000000 ffffff"):
        with pytest.raises(DecodeError):
            decode_read_modify_write(bytes.fromhex(bad))
    with pytest.raises(EncodeError):
        encode_read_modify_write(3, 0, 0)
    with pytest.raises(EncodeError):
        encode_read_modify_write(1, 0x100, 0)


def test_typed_data_replies():
    # frame 16 of the capture: Read Tag Fragmented reply data
    assert decode_typed_data(bytes.fromhex("c3002780")) == TypedData(
        0xC3, None, memoryview(b"\x27\x80")
    )
    assert encode_typed_data(0xC3, b"\x27\x80") == bytes.fromhex("c3002780")
    string = types.LOGIX_STRING.encode(["abc"])
    wire = encode_typed_data(0x02A0, string, handle=0x0FCE)
    assert wire[:4] == types.LOGIX_STRING.type_bytes
    got = decode_typed_data(wire)
    assert (got.code, got.handle) == (0x02A0, 0x0FCE)
    assert types.LOGIX_STRING.decode(got.data) == ["abc"]
    with pytest.raises(DecodeError):
        decode_typed_data(b"\xa0\x02\xce")


def test_symbol_type_word():
    # real v20 values (field notes section 9)
    assert decode_symbol_type(0x8FCE) == SymbolType(True, 0x0FCE, 0, 0, False)
    assert decode_symbol_type(0x20D3) == SymbolType(False, 0xD3, 1, 0, False)
    assert decode_symbol_type(0x40C4) == SymbolType(False, 0xC4, 2, 0, False)
    assert decode_symbol_type(0x05C1) == SymbolType(False, 0xC1, 0, 5, False)
    assert decode_symbol_type(0x10C4).system
    for word in (0x8FCE, 0x20D3, 0x40C4, 0x05C1, 0x10C4, 0xE123):
        assert encode_symbol_type(decode_symbol_type(word)) == word
    with pytest.raises(EncodeError):
        encode_symbol_type(SymbolType(False, 0xC4, 4))
    with pytest.raises(EncodeError):
        encode_symbol_type(SymbolType(True, 0x1000))


PYCOMM3_ATTRS = [1, 2, 3, 5, 6, 8, 10]


def test_symbol_records_pycomm3_and_pylogix():
    values = {
        1: "read_str_symbols",
        2: 0x8FCE,
        3: 416160,
        5: 836448,
        6: 67216401,
        8: [0, 0, 0],
        10: 0,
    }
    rec = encode_symbol_record(868, PYCOMM3_ATTRS, values)
    assert len(rec) == 33 + len("read_str_symbols")  # pycomm3's entry size
    assert rec[:8] == bytes.fromhex("64030000 1000") + b"re"
    other = encode_symbol_record(869, PYCOMM3_ATTRS, {**values, 1: "x", 8: [5, 5, 0]})
    got = decode_symbol_records(rec + other, PYCOMM3_ATTRS)
    assert [r.instance_id for r in got] == [868, 869]
    assert got[0].values == values
    assert got[1].values[8] == [5, 5, 0] and got[1].values[1] == "x"
    # pylogix GetTagList: attrs 1, 2, 8 -> 20 + len(name) bytes per entry
    rec = encode_symbol_record(5, [1, 2, 8], {1: "Tag", 2: 0xC4, 8: [0, 0, 0]})
    assert len(rec) == 20 + 3
    assert rec == bytes.fromhex("05000000 0300") + b"Tag" + bytes.fromhex("c400") + bytes(12)
    assert decode_symbol_records(rec, [1, 2, 8])[0].values == {1: "Tag", 2: 0xC4, 8: [0, 0, 0]}
    assert decode_symbol_records(b"", [1]) == []


@pytest.mark.parametrize("cut", [3, 5, 9, 20, 38])
def test_symbol_records_reject_truncation(cut):
    rec = encode_symbol_record(
        1, PYCOMM3_ATTRS, {1: "abcdef", 2: 1, 3: 1, 5: 1, 6: 1, 8: [1, 2, 3], 10: 0}
    )
    with pytest.raises(DecodeError):
        decode_symbol_records(rec[:cut], PYCOMM3_ATTRS)


def test_symbol_records_errors():
    with pytest.raises(DecodeError):
        decode_symbol_records(bytes(8), [4])
    with pytest.raises(EncodeError):
        encode_symbol_record(1, [4], {4: 1})
    with pytest.raises(EncodeError):
        encode_symbol_record(1, [2], {})
    with pytest.raises(EncodeError):
        encode_symbol_record(1, [1], {1: "\u20ac"})


STRING_MEMBERS = [TemplateMember(0, 0xC4, 0), TemplateMember(82, 0xC2, 4)]
STRING_NAMES = ["ASCIISTRING82", "LEN", "DATA"]


def test_template_definition_of_logix_string():
    blob = encode_template_definition(STRING_MEMBERS, STRING_NAMES)
    assert blob == (
        bytes.fromhex("0000 c400 00000000 5200 c200 04000000") + b"ASCIISTRING82\0LEN\0DATA\0"
    )
    assert len(blob) == 39 and template_definition_words(len(blob)) == 15
    # served padded to 4 * attr4 bytes: the padding is ignored
    padded = blob + bytes(4 * 15 - 39)
    assert decode_template_definition(padded, 2) == (STRING_MEMBERS, STRING_NAMES)
    udt = encode_template_definition(
        [TemplateMember(0, 0xCA, 0), TemplateMember(0, 0xC4, 4)],
        ["my_UDT;nHAEA", "udt_member1_real", "udt_member2_dint"],
    )
    assert udt.endswith(b"my_UDT;nHAEA\0udt_member1_real\0udt_member2_dint\0")
    assert decode_template_definition(udt, 2)[1][0] == "my_UDT;nHAEA"


@pytest.mark.parametrize("blob", [b"", bytes(15), bytes(16) + b"ASCIISTRING82\0LEN\0DATA"])
def test_template_definition_rejects(blob):
    with pytest.raises(DecodeError):
        decode_template_definition(blob, 2)


def test_template_definition_encode_errors():
    with pytest.raises(EncodeError):
        encode_template_definition([], ["a\0b"])
    with pytest.raises(EncodeError):
        encode_template_definition([TemplateMember(-1, 0, 0)], ["x"])


def test_template_attributes_pycomm3_and_pylogix():
    values = {1: 0x0FCE, 2: 2, 3: 0, 4: 15, 5: 88}
    wire = encode_template_attributes([4, 5, 2, 1], values)  # pycomm3's order
    assert wire == bytes.fromhex(
        "0400 0400 0000 0f000000 0500 0000 58000000 0200 0000 0200 0100 0000 ce0f"
    )
    assert decode_template_attributes(wire) == {4: 15, 5: 88, 2: 2, 1: 0x0FCE}
    wire = encode_template_attributes([4, 3, 2, 1], values)  # pylogix's order
    # attribute 3 is 2 bytes, so the member count lands where pylogix reads it
    assert wire[16:20] == bytes.fromhex("0200 0000") and wire[20:22] == b"\x02\x00"
    assert decode_template_attributes(wire)[3] == 0
    wire = encode_template_attributes([9, 1], values)
    assert wire == bytes.fromhex("0200 0900 1400 0100 0000 ce0f")
    assert decode_template_attributes(wire) == {1: 0x0FCE}
    with pytest.raises(EncodeError):
        encode_template_attributes([1], {1: 0x10000})


def test_template_read():
    assert encode_template_read(0, 39) == bytes.fromhex("00000000 2700")
    assert decode_template_read(bytes.fromhex("10000000 1700")) == TemplateRead(16, 23)
    for bad in ("000000002", "00000000270000"):
        with pytest.raises(DecodeError):
            decode_template_read(bytes.fromhex(bad.ljust(len(bad) + len(bad) % 2, "0")))


def test_template_words_match_real_controller(shared_data):
    # a real v20 controller serves STRING with handle 0x0FCE and attribute 4 = 15, which is
    # what template_definition_words gives for the 39-byte definition above
    tags = json.loads((shared_data / "pycomm3-all_tags.json").read_text())
    strings = [
        t["data_type"]["template"]
        for t in tags.values()
        if isinstance(t.get("data_type"), dict) and t["data_type"].get("name") == "STRING"
    ]
    assert strings and all(s["object_definition_size"] == 15 for s in strings)
    assert all(s["structure_handle"] == types.STRING_HANDLE for s in strings)
