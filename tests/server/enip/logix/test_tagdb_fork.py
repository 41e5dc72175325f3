"""TagDB.fork(): one loaded tag database serving many devices, each with its own tag memory."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from cpppo.server.enip.codec import cip, epath, tags
from cpppo.server.enip.importers.l5x import load_l5x
from cpppo.server.enip.logix import AliasTag, Tag, TagDB
from cpppo.server.enip.logix.layout import MemberDef
from cpppo.server.enip.sim.attribute import Attribute
from cpppo.server.enip.sim.controller import Controller
from cpppo.server.enip.sim.device import Context

PLANT1 = Path(__file__).parents[1] / "importers" / "data" / "Plant1.L5X"


@pytest.fixture(scope="module")
def loaded() -> TagDB:
    return load_l5x(PLANT1).db


@pytest.fixture
def db() -> TagDB:
    # A fresh load per test: forking marks the source's tables shared, and tests change them.
    return load_l5x(PLANT1).db


def scopes(db: TagDB) -> list[str | None]:
    return [None, *db.programs]


def read_request(name: str, elements: int = 1) -> bytes:
    path = [{"symbolic": part} for part in name.split(".")]
    return cip.encode_request(0x4C, epath.encode_epath(path), tags.encode_read_tag(elements))


def read_dint(controller: Controller, name: str) -> int:
    reply = cip.decode_reply(controller.request(read_request(name), Context(max_reply=504)))
    assert reply.status == 0
    typed = tags.decode_typed_data(reply.data)
    assert typed.code == 0xC4
    return struct.unpack("<i", typed.data)[0]


def write_dint(controller: Controller, name: str, value: int) -> None:
    path = [{"symbolic": part} for part in name.split(".")]
    data = tags.encode_write_tag(0xC4, 1, struct.pack("<i", value))
    raw = cip.encode_request(0x4D, epath.encode_epath(path), data)
    assert cip.decode_reply(controller.request(raw, Context(max_reply=504))).status == 0


def test_fork_has_the_same_symbols_templates_and_ids(db):
    fork = db.fork()
    assert fork.programs == db.programs
    for program in db.programs:
        assert fork.program_instance(program) == db.program_instance(program)
    for scope in scopes(db):
        assert fork.symbols(scope) == db.symbols(scope)
        assert [(t.qualified_name, t.instance_id) for t in fork.tags(scope)] == [
            (t.qualified_name, t.instance_id) for t in db.tags(scope)
        ]
        assert fork.instance_attribute_list((1, 2, 3, 7, 8), program=scope) == (
            db.instance_attribute_list((1, 2, 3, 7, 8), program=scope)
        )
    ids = sorted(s.template_id for s in db.structures)
    assert sorted(s.template_id for s in fork.structures) == ids
    for template_id in ids:
        assert fork.template(template_id).data == db.template(template_id).data
    # Types are shared by reference, tags are the fork's own.
    assert all(a is b for a, b in zip(fork.structures, db.structures, strict=True))
    for mine, theirs in zip(fork.all_tags(), db.all_tags(), strict=True):
        assert mine is not theirs and type(mine) is type(theirs)
        if isinstance(mine, Tag):
            assert mine.data == theirs.data and mine.data is not theirs.data
            assert mine.shape is theirs.shape and mine.address == theirs.address != 0


def test_fork_copies_the_current_values_then_values_are_independent(db):
    db.write("Counter", 7)
    readings, ratio = db.read("Program:MainProgram.Readings"), db.read("Ratio")
    fork = db.fork()
    assert fork.read("Counter") == 7
    fork.write("Counter", 8)
    fork.write("Program:MainProgram.Readings[1]", readings[1] + 1)
    assert db.read("Counter") == 7
    assert db.read("Program:MainProgram.Readings") == readings
    db.write("Ratio", ratio + 1)
    tank = db.read("Tank1")
    fork.write("Tank1", fork.read("Tank1"))  # a whole structure, written back
    assert fork.read("Ratio") == ratio and db.read("Ratio") == ratio + 1
    assert fork.read("Counter") == 8
    assert fork.read("Program:MainProgram.Readings[1]") == readings[1] + 1
    assert db.read("Tank1") == tank == fork.read("Tank1")


def test_aliases_of_a_fork_resolve_to_its_own_memory(db):
    cycle, start_pb = db.read("Program:MainProgram.Cycle"), db.read("StartPB")
    level = db.read("Level1")
    fork = db.fork()
    cycle_bit = fork.tag("CycleBit", "MainProgram")
    assert isinstance(cycle_bit, AliasTag) and cycle_bit.target is not None
    assert cycle_bit.target.tag is fork.tag("Cycle", "MainProgram")
    fork.write("Program:MainProgram.Cycle", cycle ^ 1)
    assert fork.read("Program:MainProgram.CycleBit") is not bool(cycle & 1)
    assert db.read("Program:MainProgram.CycleBit") is bool(cycle & 1)
    # A chain of aliases: LocalStart -> StartPB -> Local:1:I.Data.3, all in the fork.
    local_start = fork.tag("LocalStart", "MainProgram")
    assert isinstance(local_start, AliasTag) and local_start.target is not None
    assert local_start.target.tag is fork["Local:1:I"]
    fork.write("StartPB", not start_pb)
    assert fork.read("Program:MainProgram.LocalStart") is not start_pb
    assert db.read("Program:MainProgram.LocalStart") is start_pb
    db.write("Level1", level + 1)
    assert db.read("Local:3:I.Ch0Data") == level + 1 and fork.read("Level1") == level


def test_controllers_on_forks_answer_with_their_own_values(loaded):
    one = Controller(identity={"serial number": 0x1001}, tags=loaded.fork())
    two = Controller(identity={"serial number": 0x1002}, tags=loaded.fork())
    start = read_dint(one, "Counter")
    assert read_dint(two, "Counter") == start
    write_dint(one, "Counter", 11)
    two.tags.write("Counter", 22)
    assert read_dint(one, "Counter") == 11
    assert read_dint(two, "Counter") == 22
    assert loaded.read("Counter") == start
    write_dint(two, "Program:MainProgram.Cycle", 5)
    assert read_dint(two, "Program:MainProgram.Cycle") == 5
    assert read_dint(one, "Program:MainProgram.Cycle") == loaded.read("Program:MainProgram.Cycle")
    # Each controller presents its own tags through Attributes of their memory.
    counter = one.tags["Counter"]
    assert counter.attribute is counter.attribute and counter.attribute.tag is counter
    assert counter.attribute[0] == 11 and two.tags["Counter"].attribute[0] == 22
    assert one.blocking_tags == two.blocking_tags == 0


def test_adding_and_removing_in_a_fork_leaves_the_source_untouched(db):
    before = {scope: db.symbols(scope) for scope in scopes(db)}
    structures = [s.name for s in db.structures]
    fork = db.fork()
    fork.add_tag("Extra", "DINT", (2,))
    fork.add_tag("Local", "REAL", program="MainProgram")
    fork.add_program("Third")
    fork.define_structure("ForkOnly", [MemberDef("A", "DINT")])
    fork.remove("Ratio")
    fork.add_alias("ExtraAlias", "Extra[1]")
    assert "Extra" in fork and "Extra" not in db
    assert "Ratio" in db and "Ratio" not in fork
    assert db.programs == ["MainProgram", "Batch"] and "Third" in fork.programs
    assert [s.name for s in db.structures] == structures
    with pytest.raises(KeyError):
        db.data_type("ForkOnly")
    with pytest.raises(KeyError):
        db.tag("ExtraAlias")
    assert {scope: db.symbols(scope) for scope in scopes(db)} == before
    # ... and the source's changes after forking are not the fork's.
    db.add_tag("SourceOnly", "INT")
    assert "SourceOnly" not in fork
    assert fork.read("Extra") == [0, 0] and fork.read("ExtraAlias") == 0


def test_a_fork_of_a_fork_and_of_an_empty_database():
    db = TagDB()
    db.add_tag("A", "DINT", value=1)
    first = db.fork()
    second = first.fork()
    second.write("A", 2)
    assert (db.read("A"), first.read("A"), second.read("A")) == (1, 1, 2)
    empty = TagDB().fork()
    empty.add_tag("B", "INT")
    assert [t.name for t in empty.tags()] == ["B"]


class Blocking(Attribute):
    """A user attribute class whose item access is user code (so it may block)."""

    def __getitem__(self, key):
        return super().__getitem__(key)


def test_attributes_are_made_on_first_use_and_blocking_ones_counted_at_once():
    db = TagDB()
    db.add_tag("A", "DINT")
    db.add_tag("Flags", "BOOL", (32,))  # a Logix BOOL array: always the built-in Attribute
    plain = Controller(tags=db.fork())
    tag = plain.tags["A"]
    assert tag.presented
    attribute = tag.attribute
    assert type(attribute) is Attribute and tag.attribute is attribute
    blocking = Controller(attribute_class=Blocking, tags=db.fork())
    assert blocking.blocking_tags == 1
    assert type(blocking.tags["A"].attribute) is Blocking
    assert type(blocking.tags["Flags"].attribute) is Attribute
    blocking.add_tag("B", "DINT")
    assert blocking.blocking_tags == 2
    # A tag outside a simulator has no attribute; one can be set.
    alone = Tag("X", db.data_type("INT"))
    assert alone.attribute is None and not alone.presented
    alone.attribute = Attribute("X", plain.tags["A"].attribute.parser, tag=alone)
    assert alone.presented
