"""Complete controller exports, hand-written for these tests (tests/.../importers/data/):

- ``Plant1.L5X``: a ControlLogix 1756-L83E with I/O in the local chassis (1756-IB16, OB16E,
  IF8), a remote chassis behind a 1756-EN2T (rack-optimised digital modules, a directly
  connected IF8), and on the network (a PowerFlex 525, a FLEX 5000 adapter with a module, an
  ArmorBlock, a producing controller); UDTs (one with a module-defined member), nested AOIs with
  UDT, TIMER and array members, ALARM_ANALOG, ALARM_DIGITAL, PID, MESSAGE, FBD_TIMER,
  FBD_COUNTER, SFC_STEP, SFC_ACTION and SFC_STOP tags, produced and consumed tags, aliases to
  I/O, and program-scope tags of all of these.
- ``Line2.L5X``: a CompactLogix 5380 with local 5069 I/O, a POINT I/O adapter with
  rack-optimised modules, a generic Ethernet module, nested AOIs (AOI members, a UDT member, an
  InOut parameter), a UDT array of UDTs, alarms, PID, MESSAGE, SFC and FBD tags, produced and
  consumed tags, aliases to I/O at both scopes.

For each, pycomm3 1.2.16 (defaults) lists every controller, program and module I/O tag, and
every value read equals the value the export declares; AOI, alarm and module tags read as dicts
with their declared members; pylogix 1.1.6 lists and reads the same.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from l5x_clients import (
    declared_value,
    decorated,
    leaves,
    mismatches,
    pycomm3_driver,
    pylogix_plc,
    serving,
)

from cpppo.server.enip.importers.l5x import load_l5x, parse_literal, parse_string_literal
from cpppo.server.enip.logix import ATOMIC_TYPES, AliasTag, Structure

pytestmark = pytest.mark.timeout(120)

DATA = Path(__file__).parent / "data"

# file -> module I/O tag -> (module, C/I/O) whose decorated data it holds
MODULE_TAGS: dict[str, dict[str, tuple[str, str]]] = {
    "Plant1.L5X": {
        "Local:1:C": ("Local_DI", "C"),
        "Local:1:I": ("Local_DI", "I"),
        "Local:2:C": ("Local_DO", "C"),
        "Local:2:I": ("Local_DO", "I"),
        "Local:2:O": ("Local_DO", "O"),
        "Local:3:C": ("Local_AI", "C"),
        "Local:3:I": ("Local_AI", "I"),
        "Remote:I": ("Remote", "I"),
        "Remote:O": ("Remote", "O"),
        "Remote:1:C": ("Remote_DI", "C"),
        "Remote:2:C": ("Remote_DO", "C"),
        "Remote:3:C": ("Remote_AI", "C"),
        "Remote:3:I": ("Remote_AI", "I"),
        "Drive1:I": ("Drive1", "I"),
        "Drive1:O": ("Drive1", "O"),
        "FlexIO:1:C": ("FlexIO_DI", "C"),
        "FlexIO:1:I": ("FlexIO_DI", "I"),
        "Block1:C": ("Block1", "C"),
        "Block1:I": ("Block1", "I"),
    },
    "Line2.L5X": {
        "Local:1:C": ("Local_DI", "C"),
        "Local:1:I": ("Local_DI", "I"),
        "Local:2:I": ("Local_DO", "I"),
        "Local:2:O": ("Local_DO", "O"),
        "Point1:I": ("Point1", "I"),
        "Point1:O": ("Point1", "O"),
        "Point1:1:C": ("Point1_IB8", "C"),
        "Point1:2:C": ("Point1_OB8", "C"),
        "Scale:C": ("Scale", "C"),
        "Scale:I": ("Scale", "I"),
        "Scale:O": ("Scale", "O"),
    },
}

# file -> rack-optimised alias -> the adapter's slot it stands for
RACK_ALIASES: dict[str, dict[str, str]] = {
    "Plant1.L5X": {
        "Remote:1:I": "Remote:I.Slot[1]",
        "Remote:2:I": "Remote:I.Slot[2]",
        "Remote:2:O": "Remote:O.Slot[2]",
    },
    "Line2.L5X": {
        "Point1:1:I": "Point1:I.Data[1]",
        "Point1:2:I": "Point1:I.Data[2]",
        "Point1:2:O": "Point1:O.Data[2]",
    },
}

# file -> alias -> the value it reads (from the export's decorated data)
ALIAS_VALUES: dict[str, dict[str, object]] = {
    "Plant1.L5X": {
        "StartPB": True,  # Local:1:I.Data bit 3
        "Level1": 42.5,
        "Motor1Out": True,  # Remote:O.Slot[2].Data bit 5
        "RemoteIn": 0b1001_0000,
        "DriveFreq": 600,
        "FlexIn0": True,
        "BlockIn": 0b1000_0001,
        "Program:MainProgram.Flow": 12.75,
        "Program:MainProgram.LocalStart": True,
        "Program:MainProgram.DriveRunning": True,
        "Program:MainProgram.CycleBit": False,  # -42
    },
    "Line2.L5X": {
        "Button": True,
        "Lamp": True,
        "PointIn": 0b101,
        "Weight": 1234,
        "Program:Filler.Bottle": True,  # Point1:I.Data[1] bit 2
        "Program:Filler.Reject": True,  # Point1:O.Data[2] bit 7
        "Program:Filler.Gross": -7,
    },
}

# file -> MESSAGE tag -> its RequestedLength (served as member REQ_LEN)
MESSAGES: dict[str, dict[str, int]] = {
    "Plant1.L5X": {"ReadMsg": 1, "Program:MainProgram.WriteMsg": 1, "Program:Batch.BatchMsg": 1},
    "Line2.L5X": {"Program:Filler.ScaleMsg": 1},
}

_PATHS = {"C": "Communications/ConfigTag", "I": ".//InputTag", "O": ".//OutputTag"}


def declared_tags(root: ET.Element) -> dict[str, ET.Element]:
    """Qualified name -> ``<Tag>`` of every controller and program tag of an export."""
    controller = root.find("Controller")
    tags = {t.get("Name"): t for t in controller.findall("Tags/Tag")}
    for program in controller.findall("Programs/Program"):
        for t in program.findall("Tags/Tag"):
            tags[f"Program:{program.get('Name')}.{t.get('Name')}"] = t
    return tags


def module_data(root: ET.Element, module: str, kind: str) -> ET.Element:
    """The decorated data of a module's connection or config tag."""
    found = root.find(f".//Module[@Name='{module}']").find(_PATHS[kind])
    return decorated(found)


def parameters_value(element: ET.Element, s: Structure) -> dict[str, object]:
    """The members a parameters element (``AlarmAnalogParameters``...) sets, by its attributes
    that are members of ``s`` with an atomic type."""
    out: dict[str, object] = {}
    for name, text in element.attrib.items():
        try:
            m = s.member(name)
        except KeyError:
            continue
        if m.type.name in ATOMIC_TYPES and not m.count and not text.upper().startswith("DT#"):
            out[m.name] = parse_literal(text, m.type)
    return out


@pytest.fixture(scope="module", params=sorted(MODULE_TAGS))
def project(request):
    """(file name, parsed XML, load_l5x result, simulator port) of each export, served."""
    path = DATA / request.param
    result = load_l5x(path)
    with serving(result.db, result.db.revision) as port:
        yield request.param, ET.parse(path).getroot(), result, port


def expected_values(name: str, root: ET.Element, db) -> dict[str, object]:
    """Tag -> the value the export declares for it (every tag with decorated, string or
    parameter data, and every module I/O tag)."""
    out: dict[str, object] = {}
    loaded = {t.qualified_name: t for t in db.all_tags()}
    for qname, element in declared_tags(root).items():
        tag = loaded[qname]
        if isinstance(tag, AliasTag):
            continue
        node = decorated(element)
        if node is not None:
            out[qname] = declared_value(node)
        for data in element.findall("Data"):
            if data.get("Format") == "String":
                out[qname] = parse_string_literal(data.text.strip())
            elif data.get("Format") in ("Alarm", "Message") and len(data):
                out[qname] = parameters_value(data[0], tag.data_type)
    for tag, (module, kind) in MODULE_TAGS[name].items():
        out[tag] = declared_value(module_data(root, module, kind))
    return out


def _whole(db, qname: str) -> str:
    """pycomm3's name for all of a tag: ``Name{n}`` for an array (n BOOLs for a BOOL array)."""
    loc = db.resolve(qname)
    return f"{qname}{{{loc.bools or loc.count}}}" if loc.dims else qname


def test_the_export_loads_without_warnings(project):
    name, root, result, _ = project
    assert result.warnings == []
    db = result.db
    names = {t.qualified_name for t in db.all_tags()}
    assert names == set(declared_tags(root)) | set(MODULE_TAGS[name]) | set(RACK_ALIASES[name])
    for alias, target in RACK_ALIASES[name].items():
        assert db.tag(alias).alias_for == target


def test_pycomm3_lists_and_reads_every_tag(project):
    name, root, result, port = project
    db = result.db
    expected = expected_values(name, root, db)
    with pycomm3_driver(port) as plc:
        listed = {t["tag_name"]: t for t in plc.get_tag_list(program="*")}
        assert set(listed) == {t.qualified_name for t in db.all_tags()}
        for qname, tag in ((t.qualified_name, t) for t in db.all_tags()):
            info = listed[qname]
            if isinstance(tag.data_type, Structure):
                assert info["data_type_name"] == tag.data_type.name, qname
        paths = {qname: _whole(db, qname) for qname in expected}
        reads = dict(zip(paths, plc.read(*paths.values())))
        for qname, value in expected.items():
            read = reads[qname]
            assert read.error is None, (qname, read.error)
            assert mismatches(read.value, value, qname) == []
        for alias, value in ALIAS_VALUES[name].items():
            assert plc.read(alias).value == value, alias
        for message, length in MESSAGES[name].items():
            assert plc.read(message).value["REQ_LEN"] == length, message


def test_aoi_alarm_and_module_tags_read_as_dicts_with_their_members(project):
    """An AOI instance reads with every parameter (but InOut) and local tag of its definition;
    every structure tag (AOI, built-in instruction type, type built from the data, module type)
    with the members its data declares."""
    name, root, result, port = project
    db = result.db
    controller = root.find("Controller")
    aoi_members = {
        aoi.get("Name"): {
            p.get("Name") for p in aoi.findall("Parameters/Parameter") if p.get("Usage") != "InOut"
        }
        | {t.get("Name") for t in aoi.findall("LocalTags/LocalTag")}
        for aoi in controller.findall("AddOnInstructionDefinitions/AddOnInstructionDefinition")
    }
    expected = expected_values(name, root, db)
    kinds = set()
    with pycomm3_driver(port) as plc:
        for qname, declared in expected.items():
            dtype = db.resolve(qname).data_type
            if not isinstance(declared, dict):
                continue
            value = plc.read(qname).value
            members = set(declared) | aoi_members.get(dtype.name, set())
            assert isinstance(value, dict) and members <= set(value), (qname, members - set(value))
            kinds.add(dtype.kind)
    assert kinds == {"AOI", "Module", "Predefined", "User"}


def test_pylogix_lists_and_reads_every_tag(project):
    name, root, result, port = project
    db = result.db
    expected = expected_values(name, root, db)
    with pylogix_plc(port) as plc:
        listed = plc.GetTagList(allTags=True)
        assert listed.Status == "Success"
        programs = {f"Program:{p}" for p in db.programs}  # pylogix lists the programs too
        assert {t.TagName for t in listed.Value} == {t.qualified_name for t in db.all_tags()} | (
            programs
        )
        paths = [
            leaf
            for qname, value in expected.items()
            for leaf in leaves(value, qname, db.resolve(qname).dims)
        ]
        for (path, value), read in zip(paths, plc.Read([path for path, _ in paths])):
            assert read.Status == "Success", (path, read.Status)
            assert mismatches(read.Value, value, path) == []
        for qname in expected:
            tag = db.resolve(qname)
            if (
                isinstance(tag.data_type, Structure)
                and not tag.dims
                and not tag.data_type.is_string
            ):
                whole = plc.Read(qname)
                assert (whole.Status, bytes(whole.Value)) == ("Success", tag.read_bytes()), qname
        for alias, value in ALIAS_VALUES[name].items():
            assert plc.Read(alias).Value == value, alias
