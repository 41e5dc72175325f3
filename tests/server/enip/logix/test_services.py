"""The Logix tag services on tag memory, without a controller: request data in, reply out."""

from __future__ import annotations

import struct

import pytest

from cpppo.server.enip.codec import cip, tags
from cpppo.server.enip.logix import MemberDef, TagDB, codec_for
from cpppo.server.enip.logix.services import TagServices, plan_read
from cpppo.server.enip.sim.attribute import Attribute


class Logged(Attribute):
    """A presenter with its own item access: records every slice it is asked for."""

    blocking = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[str, slice]] = []

    def __getitem__(self, key):
        self.seen.append(("get", key))
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        self.seen.append(("set", key))
        super().__setitem__(key, value)


@pytest.fixture
def db() -> TagDB:
    db = TagDB()
    db.define_structure("Motor", [MemberDef("Run", "BOOL"), MemberDef("Speed", "REAL")])
    db.add_tag("M", "Motor", (2,))
    db.add_tag("D", "DINT", (4,), value=[1, 2, 3, 4])
    for tag in db:
        tag.attribute = Attribute(tag.qualified_name, codec_for(tag.storage_type), tag=tag)
    return db


def serve(services: TagServices, db: TagDB, service: int, path: str, data: bytes) -> cip.Reply:
    loc = db.resolve(path, bool_index="word")
    return cip.decode_reply(services.serve(service, loc, memoryview(data), 504))


def test_reads_a_member_a_bit_and_elements(db):
    services = TagServices()
    db.write("M[1].Speed", 2.5)
    db.write("M[1].Run", True)
    reply = serve(services, db, 0x4C, "M[1].Speed", tags.encode_read_tag(1))
    assert reply.status == 0 and bytes(reply.data) == struct.pack("<Hf", 0xCA, 2.5)
    reply = serve(services, db, 0x4C, "M[1].Run", tags.encode_read_tag(1))
    assert bytes(reply.data) == b"\xc1\x00\x01"
    reply = serve(services, db, 0x4C, "D[1]", tags.encode_read_tag(3))
    assert bytes(reply.data) == struct.pack("<H3i", 0xC4, 2, 3, 4)
    reply = serve(services, db, 0x4C, "D[1]", tags.encode_read_tag(4))
    assert (reply.status, tuple(reply.ext_status)) == (0xFF, (0x2105,))


def test_a_read_plan_follows_the_memory(db):
    loc = db.resolve("D[2]", bool_index="word")
    plan = plan_read(loc, memoryview(tags.encode_read_tag(2)))
    assert plan is not None and plan.reply() == bytes.fromhex("cc000000c400") + struct.pack(
        "<2i", 3, 4
    )
    db.write("D[3]", -1)
    assert plan.reply()[-4:] == struct.pack("<i", -1)
    assert plan_read(db.resolve("M[0].Run"), memoryview(tags.encode_read_tag(1))) is None


def test_the_write_guard_refuses_and_the_hook_reports(db):
    services = TagServices()
    seen: list[tuple] = []
    services.on_access = lambda tag, index, values, kind: seen.append(
        (getattr(tag, "qualified_name", None) or tag.name, index, values, kind)
    )
    services.write_guard = lambda loc, count: 0x0F if loc.tag.name == "D" else 0
    write = tags.encode_write_tag(0xC4, 1, struct.pack("<i", 7))
    assert serve(services, db, 0x4D, "D[0]", write).status == 0x0F
    assert db.read("D[0]") == 1 and seen == []
    write = tags.encode_write_tag(0xCA, 1, struct.pack("<f", 1.5))
    assert serve(services, db, 0x4D, "M[0].Speed", write).status == 0
    assert db.read("M[0].Speed") == 1.5
    assert seen == [("M[0].Speed", 0, [1.5], "write")]


def test_a_presenter_with_its_own_items_sees_whole_elements(db):
    db.add_tag("L", "DINT", (3,))
    tag = db["L"]
    tag.attribute = presenter = Logged(
        tag.qualified_name, codec_for(tag.storage_type), 0, dims=(3,)
    )
    presenter.bind(tag)
    services = TagServices()
    write = tags.encode_read_modify_write(1, 0x01, 0xFF)
    assert serve(services, db, 0x4E, "L[2]", write).status == 0
    assert db.read("L[2]") == 1
    assert [kind for kind, _ in presenter.seen] == ["get", "set"]
    presenter.seen.clear()
    reply = serve(services, db, 0x4C, "L[1]", tags.encode_read_tag(2))
    assert bytes(reply.data) == struct.pack("<H2i", 0xC4, 0, 1)
    assert presenter.seen == [("get", slice(1, 3))]
