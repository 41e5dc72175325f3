"""The simulated controller's tag database on the wire, with byte vectors (no I/O): the name
object 0x64, Symbol 0x6B (0x55, paged, program scope), Template 0x6C (0x03, 0x4C), structures
read and written whole, members, BOOL members and BOOL arrays, instance-id paths, SSTRING
fragments, user Attributes on parts of elements, Message Router attribute tags."""

from __future__ import annotations

import struct

import pytest

from cpppo.server.enip import DINT, SSTRING, device
from cpppo.server.enip.codec import cip, epath, tags
from cpppo.server.enip.importers.json import load_json, save_json
from cpppo.server.enip.logix import MemberDef, TagDB, TagDBError
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.sim.controller import Controller
from cpppo.server.enip.sim.device import Context


@pytest.fixture
def plc() -> Controller:
    db = TagDB("plant", revision=20)
    db.define_structure(
        "Motor", [MemberDef("running", "BOOL"), MemberDef("speed", "REAL"), MemberDef("n", "DINT")]
    )
    db.add_tag("Motors", "Motor", (3,), value=[{"speed": 1.5}, {"n": 7}, {"running": True}])
    db.add_tag("Bits", "BOOL", (64,))
    db.add_tag("Name", "STRING", value="abc")
    db.add_program("Main")
    db.add_tag("Local", "DINT", program="Main", value=7)
    controller = Controller(tags=db)
    controller.add_tag("TEXT", SSTRING, (4,))
    return controller


def run(controller: Controller, raw: bytes, max_reply: int = 504) -> cip.Reply:
    return cip.decode_reply(controller.request(raw, Context(max_reply=max_reply)))


def req(service: int, path: list[dict] | str, data: bytes = b"") -> bytes:
    segments = [{"symbolic": part} for part in path.split(".")] if isinstance(path, str) else path
    return cip.encode_request(service, epath.encode_epath(segments), data)


def test_controller_name_object_0x64(plc):
    reply = run(plc, req(0x01, [{"class": 0x64}, {"instance": 1}]))
    assert (reply.status, bytes(reply.data)) == (0, b"\x05\x00plant")


def _list_symbols(plc, program=None, attrs=(1, 2, 8), max_reply=504):
    """Page through 0x55 as pycomm3 does: from instance 0, then the last id + 1."""
    prefix = [{"symbolic": f"Program:{program}"}] if program else []
    start, records, pages = 0, [], 0
    while True:
        path = [*prefix, {"class": 0x6B}, {"instance": start}]
        reply = run(plc, req(0x55, path, cip.encode_attribute_ids(attrs)), max_reply)
        assert reply.status in (0x00, 0x06) and len(reply.data) <= max_reply - 4
        page = tags.decode_symbol_records(reply.data, attrs)
        records += page
        pages += 1
        if reply.status == 0:
            return records, pages
        start = page[-1].instance_id + 1


def test_symbol_object_lists_each_scope_in_pages(plc):
    records, pages = _list_symbols(plc, max_reply=60)
    assert pages == 3  # 56 bytes of entries per reply: 2 + 2 + 1 of 26, 24, 24, 24, 32 bytes
    names = [r.values[1] for r in records]
    assert names == [s.name for s in plc.tags.symbols()]
    assert set(names) == {"Motors", "Bits", "Name", "TEXT", "Program:Main"}
    by_name = {r.values[1]: r.values for r in records}
    motor = plc.tags.data_type("Motor")
    assert tags.decode_symbol_type(by_name["Motors"][2]) == (True, motor.template_id, 1, 0, 0)
    assert by_name["Motors"][8] == [3, 0, 0]
    assert (by_name["Bits"][2], by_name["Bits"][8]) == (0x20D3, [2, 0, 0])  # DWORDs
    assert (by_name["TEXT"][2], by_name["TEXT"][8]) == (0x20DA, [4, 0, 0])
    assert by_name["Name"][2] == 0x8FCE
    local, _ = _list_symbols(plc, "Main", attrs=(1, 2, 3, 5, 6, 8, 10))
    assert [(r.values[1], r.values[2], r.values[10]) for r in local] == [("Local", 0xC4, 0)]
    assert local[0].values[6] & 1 << 26  # a base tag
    data = cip.encode_attribute_ids([1])
    unknown = [{"symbolic": "Program:Nope"}, {"class": 0x6B}, {"instance": 0}]
    assert run(plc, req(0x55, unknown, data)).status == 0x05
    symbol_class = [{"class": 0x6B}, {"instance": 0}]
    assert run(plc, req(0x55, symbol_class, cip.encode_attribute_ids([4]))).status == 0x14
    assert run(plc, req(0x0E, symbol_class)).status == 0x08


def test_template_object_attributes_and_definition_reads(plc):
    motor = plc.tags.data_type("Motor")
    path = [{"class": 0x6C}, {"instance": motor.template_id}]
    reply = run(plc, req(0x03, path, cip.encode_attribute_ids([4, 5, 2, 1])))
    attrs = tags.decode_template_attributes(reply.data)
    template = plc.tags.template(motor.template_id)
    assert reply.status == 0 and attrs == {
        4: template.attributes.definition_size,
        5: 12,
        2: 4,  # the hidden BOOL host, running, speed, n
        1: motor.handle,
    }
    # pycomm3 reads 4 * attr4 - 21 bytes; a small reply makes it page with 0x06
    want = attrs[4] * 4 - 21
    blob, offset = b"", 0
    while True:
        reply = run(plc, req(0x4C, path, tags.encode_template_read(offset, want - offset)), 24)
        blob += bytes(reply.data)
        offset += len(reply.data)
        if reply.status == 0:
            break
        assert reply.status == 0x06 and len(reply.data) == 20
    assert len(blob) == want
    _, names = tags.decode_template_definition(blob, attrs[2])
    assert names[0].partition(";")[0] == "Motor" and names[2:] == [
        "running",
        "speed",
        "n",
    ]
    bad = run(plc, req(0x03, path, cip.encode_attribute_ids([1, 9])))
    assert bad.status == 0x0A and tags.decode_template_attributes(bad.data) == {1: motor.handle}
    assert (
        run(plc, req(0x03, [{"class": 0x6C}, {"instance": 0xEEE}], b"\x01\x00\x01\x00")).status == 5
    )
    assert run(plc, req(0x4C, path, tags.encode_template_read(9999, 4))).ext_status == (0x2105,)


def test_structures_whole_members_bits_and_bool_arrays(plc):
    motor = plc.tags.data_type("Motor")
    head = struct.pack("<HH", 0x02A0, motor.handle)
    element = [{"symbolic": "Motors"}, {"element": 1}]
    reply = run(plc, req(0x4C, element, tags.encode_read_tag(1)))
    assert bytes(reply.data) == head + bytes(plc.tags["Motors"].data[12:24])
    image = bytearray(12)
    motor.encode_into(image, 0, {"running": True, "speed": -2.0, "n": 99})
    write = tags.encode_write_tag(0x02A0, 1, bytes(image), motor.handle)
    assert run(plc, req(0x4D, element, write)).status == 0
    assert plc.tags.read("Motors[1]") == {"running": True, "speed": -2.0, "n": 99}
    wrong = tags.encode_write_tag(0x02A0, 1, bytes(image), motor.handle ^ 1)
    assert run(plc, req(0x4D, element, wrong)).ext_status == (0x2107,)
    # a member, a BOOL member (type C1, 0x01 / 0x00), a structure read across elements
    speed = [*element, {"symbolic": "speed"}]
    assert bytes(run(plc, req(0x4C, speed, b"\x01\x00")).data) == b"\xca\x00" + struct.pack(
        "<f", -2
    )
    running = [{"symbolic": "Motors"}, {"element": 2}, {"symbolic": "running"}]
    assert bytes(run(plc, req(0x4C, running, b"\x01\x00")).data) == b"\xc1\x00\x01"
    assert run(plc, req(0x4D, running, tags.encode_write_tag(0xC1, 1, b"\x00"))).status == 0
    assert plc.tags.read("Motors[2].running") is False
    whole = run(plc, req(0x4C, "Motors", tags.encode_read_tag(3)))
    assert bytes(whole.data) == head + bytes(plc.tags["Motors"].data)
    assert run(plc, req(0x4C, "Motors.speed", b"\x01\x00")).status == 0x04  # not indexed
    # a BOOL array on the wire is DWORDs: Bits[1] is BOOLs 32..63; a bit set by 0x4E
    bits = [{"symbolic": "Bits"}, {"element": 1}]
    rmw = tags.encode_read_modify_write(4, 1 << 3, 0xFFFFFFFF)
    assert run(plc, req(0x4E, bits, rmw)).status == 0
    assert plc.tags.read("Bits[35]") is True and plc.tags["Bits"].attribute[35] is True
    assert bytes(run(plc, req(0x4C, bits, b"\x01\x00")).data) == b"\xd3\x00\x08\x00\x00\x00"
    assert run(plc, req(0x4C, [{"symbolic": "Bits"}, {"element": 2}], b"\x01\x00")).status == 5
    assert run(plc, req(0x4E, speed, rmw)).ext_status == (0x2107,)  # not an integer


def test_a_structure_larger_than_the_reply_comes_in_fragments(plc):
    """Read Tag answers 0x06 with what fits, Read Tag Fragmented the rest (4-byte chunks)."""
    recipe = plc.tags.define_structure(
        "Recipe", [MemberDef("name", "STRING"), MemberDef("steps", "REAL", 150)]
    )
    plc.tags.add_tag("R", recipe, value={"name": "mix", "steps": [i / 4 for i in range(150)]})
    head = struct.pack("<HH", 0x02A0, recipe.handle)
    first = run(plc, req(0x4C, "R", b"\x01\x00"))
    assert first.status == 0x06 and bytes(first.data[:4]) == head
    image = bytes(first.data[4:])
    assert len(image) == 496
    while True:
        reply = run(plc, req(0x52, "R", tags.encode_read_tag_fragmented(1, len(image))))
        assert bytes(reply.data[:4]) == head and (len(reply.data) - 4) % 4 == 0
        image += bytes(reply.data[4:])
        if reply.status == 0:
            break
        assert reply.status == 0x06
    assert image == bytes(plc.tags["R"].data) and len(image) == recipe.size == 688


def test_instance_id_paths_and_program_scope(plc):
    motors = plc.tags["Motors"].instance_id
    path = [{"class": 0x6B}, {"instance": motors}, {"element": 2}, {"symbolic": "running"}]
    assert bytes(run(plc, req(0x4C, path, b"\x01\x00")).data) == b"\xc1\x00\x01"
    local = plc.tags["Program:Main.Local"]
    for path in (
        "Program:Main.Local",
        [{"symbolic": "Program:Main"}, {"class": 0x6B}, {"instance": local.instance_id}],
    ):
        assert bytes(run(plc, req(0x4C, path, b"\x01\x00")).data) == b"\xc4\x00\x07\x00\x00\x00"
    assert run(plc, req(0x4C, "Local", b"\x01\x00")).status == 0x04  # not a controller tag
    assert run(plc, req(0x4C, [{"class": 0x6B}, {"instance": 999}], b"\x01\x00")).status == 0x04


def test_sstring_write_tag_fragmented(plc):
    """Whole SSTRINGs from an element boundary: offset 0, then where the first fragment ended."""
    first = SSTRING.encode(["ab", "cde"])
    frag = tags.encode_write_tag_fragmented(0xDA, 4, 0, first)
    assert run(plc, req(0x53, "TEXT", frag)).status == 0
    frag = tags.encode_write_tag_fragmented(0xDA, 4, len(first), SSTRING.encode(["f"]))
    assert run(plc, req(0x53, "TEXT", frag)).status == 0
    assert plc.tags["TEXT"].attribute[0:4] == ["ab", "cde", "f", ""]
    for offset, data, status in ((1, b"\x01x", 0x20), (0, b"\x05ab", 0x20), (0, first * 3, 0x15)):
        frag = tags.encode_write_tag_fragmented(0xDA, 4, offset, data)
        assert run(plc, req(0x53, "TEXT", frag)).status == status
    reply = run(plc, req(0x52, "TEXT", tags.encode_read_tag_fragmented(4, 0)))
    assert bytes(reply.data) == b"\xda\x00" + SSTRING.encode(["ab", "cde", "f", ""])


def test_user_attribute_sees_parts_of_its_elements():
    """A member of a STRING tag of a user Attribute class is read and written through its items."""
    seen = []

    class Logged(device.Attribute):
        blocking = False

        def __getitem__(self, key):
            seen.append(("get", key))
            return super().__getitem__(key)

        def __setitem__(self, key, value):
            seen.append(("set", key, value))
            super().__setitem__(key, value)

    plc = build_controller(["S=STRING[2]", "D=DINT[2]"], attribute_class=Logged)
    plc.tags["S"].attribute[1] = "hello"
    seen.clear()
    length = [{"symbolic": "S"}, {"element": 1}, {"symbolic": "LEN"}]
    assert bytes(run(plc, req(0x4C, length, b"\x01\x00")).data) == b"\xc4\x00\x05\x00\x00\x00"
    assert seen == [("get", slice(1, 2))]
    assert (
        run(plc, req(0x4D, length, tags.encode_write_tag(0xC4, 1, b"\x02\x00\x00\x00"))).status == 0
    )
    assert seen[-1] == ("set", slice(1, 2), ["he"])
    seen.clear()  # a whole-element write goes straight to __setitem__ (no read first)
    assert run(plc, req(0x4D, "D", tags.encode_write_tag(0xC4, 2, DINT.encode([3, 4])))).status == 0
    assert seen == [("set", slice(0, 2), [3, 4])]


def test_message_router_attributes_map_tags_for_tag_services(plc):
    at = [{"class": 2}, {"instance": 1}, {"attribute": 1}]
    reply = run(plc, req(0x4C, at, b"\x01\x00"))
    assert bytes(reply.data[:2]) == b"\xa0\x02"  # Motors[0], the first controller tag
    assert (
        run(plc, req(0x4C, [{"class": 2}, {"instance": 1}, {"attribute": 9}], b"\x01\x00")).status
        == 8
    )
    objects = run(plc, req(0x0E, at))  # Get Attribute Single: the Message Router's Object List
    assert objects.status == 0 and 0x64 in struct.unpack(
        f"<{len(objects.data) // 2}H", objects.data
    )


def test_command_line_tags_of_a_database_type_and_scope(plc):
    controller = build_controller(
        ["Spare=Motor[2]", "Program:Main.Flag=BOOL", "Bytes=BOOL[4]"], db=plc.tags
    )
    assert controller.tags.read("Spare[1].n") == 0
    assert controller.tags["Program:Main.Flag"].data_type.name == "BOOL"
    assert controller.tags["Bytes"].elements == 4  # a command-line BOOL[n]: a byte per BOOL
    assert controller.tags["Bytes"].symbol_type == 0x20C1
    with pytest.raises(TagDBError, match="unknown data type 'Pump'"):
        build_controller(["P=Pump"], db=plc.tags)


def test_tag_database_round_trips_command_line_tags(plc, tmp_path):
    plc.tags["TEXT"].attribute[1] = "x"
    controller = build_controller(["Bytes=BOOL[4]"], db=plc.tags)
    controller.tags["Bytes"].attribute[2] = True
    path = tmp_path / "tags.json"
    save_json(controller.tags, path)
    again = load_json(path)
    assert again.read("TEXT") == ["", "x", "", ""]
    assert again.read("Bytes") == [False, False, True, False]
    assert again["Bytes"].symbol_type == 0x20C1 and again.read("Motors[0].speed") == 1.5
