"""Module I/O from L5X exports: module-defined types built from decorated data, tags named as a
controller names them, rack-optimised aliases; the l5sharp module exports (real Studio 5000
exports of a local chassis, remote EtherNet/IP adapters, a remote rack, FLEX 5000 I/O) loaded,
served, listed and read by pycomm3 and pylogix with their default settings."""

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

from cpppo.server.enip.importers.l5x import load_l5x
from cpppo.server.enip.importers.l5x_modules import io_tag_prefix
from cpppo.server.enip.importers.l5x_xml import parse_xml
from cpppo.server.enip.logix import AliasTag, Structure, template_blob
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.net.server import ServerThread

pytestmark = pytest.mark.timeout(60)

# file -> (tag name, module, C/I/O, data type) of every module tag it defines
EXPORTS: dict[str, list[tuple[str, str, str, str]]] = {
    "Modules-Flex_Mod_1_Module.L5X": [
        ("FlexIO:1:C", "Flex_Mod_1", "C", "AB:5000_AI8:C:0"),
        ("FlexIO:1:I", "Flex_Mod_1", "I", "AB:5000_AI8:I:0"),
        ("FlexIO:1:O", "Flex_Mod_1", "O", "AB:5000_AI8:O:0"),
    ],
    "Modules-L1M1.L5X": [
        ("L1M1:I", "L1M1", "I", "AB:1756_ENET_17SLOT:I:0"),
        ("L1M1:O", "L1M1", "O", "AB:1756_ENET_17SLOT:O:0"),
        ("L1M1:1:C", "L1M1D1", "C", "AB:1756_AI6_Float:C:0"),
        ("L1M1:1:I", "L1M1D1", "I", "AB:1756_AI6_CJ_Float:I:0"),
    ],
    "Modules-L1M1D1.L5X": [
        ("L1M1:1:C", "L1M1D1", "C", "AB:1756_AI6_Float:C:0"),
        ("L1M1:1:I", "L1M1D1", "I", "AB:1756_AI6_CJ_Float:I:0"),
    ],
    "Modules-Local_Mod_1.L5X": [
        ("L1M1:I", "L1M1", "I", "AB:1756_ENET_17SLOT:I:0"),
        ("L1M1:O", "L1M1", "O", "AB:1756_ENET_17SLOT:O:0"),
        ("L1M1:1:C", "L1M1D1", "C", "AB:1756_AI6_Float:C:0"),
        ("L1M1:1:I", "L1M1D1", "I", "AB:1756_AI6_CJ_Float:I:0"),
        ("L1M2:I", "L1M2", "I", "AB:1734_8SLOT:I:0"),
        ("L1M2:O", "L1M2", "O", "AB:1734_8SLOT:O:0"),
        ("L1M2:1:C", "L1M2D1", "C", "AB:1734_DI8:C:0"),
        ("L1M3:C", "L1M3", "C", "AB:1732_D16Diag:C:0"),
        ("L1M3:I", "L1M3", "I", "AB:1732_DI16Diag:I:0"),
    ],
    "Modules-Local_Mod_4.L5X": [
        ("Local:4:C", "Local_Mod_4", "C", "SC:1756sc_CTR8:C:0"),
        ("Local:4:I", "Local_Mod_4", "I", "SC:1756sc_CTR8:I:0"),
        ("Local:4:O", "Local_Mod_4", "O", "SC:1756sc_CTR8:O:0"),
    ],
    "Modules-RackIO.L5X": [
        ("RackIO:I", "RackIO", "I", "AB:1756_ENET_17SLOT:I:0"),
        ("RackIO:O", "RackIO", "O", "AB:1756_ENET_17SLOT:O:0"),
        ("RackIO:1:C", "Rack_Mod_1", "C", "AB:1756_DI:C:1"),
        ("RackIO:2:C", "Rack_Mod_2", "C", "AB:1756_IF4_Float:C:0"),
        ("RackIO:2:I", "Rack_Mod_2", "I", "AB:1756_IF4_Float:I:0"),
        ("RackIO:3:C", "Rack_Mode_3", "C", "AB:1756_DI:C:1"),
    ],
    "Modules-Rack_Mod_2.L5X": [
        ("RackIO:2:C", "Rack_Mod_2", "C", "AB:1756_IF4_Float:C:0"),
        ("RackIO:2:I", "Rack_Mod_2", "I", "AB:1756_IF4_Float:I:0"),
    ],
    "Modules-TestCard.L5X": [],
}

# file -> rack-optimised alias -> what it stands for
RACK_ALIASES: dict[str, dict[str, str]] = {
    "Modules-Local_Mod_1.L5X": {"L1M2:1:I": "L1M2:I.Data[1]"},
    "Modules-RackIO.L5X": {"RackIO:1:I": "RackIO:I.Slot[1]", "RackIO:3:I": "RackIO:I.Slot[3]"},
}

_PATHS = {"C": "Communications/ConfigTag", "I": ".//InputTag", "O": ".//OutputTag"}


def module_tag(root: ET.Element, module: str, kind: str) -> ET.Element:
    """The ``InputTag``/``OutputTag``/``ConfigTag`` element of ``module`` in an export."""
    element = root.find(f".//Module[@Name='{module}']")
    assert element is not None, module
    found = element.find(_PATHS[kind])
    assert found is not None, (module, kind)
    return found


@pytest.fixture(scope="module", params=sorted(EXPORTS))
def export(request, shared_data):
    """(file name, parsed XML, load_l5x result) of each l5sharp module export."""
    path: Path = shared_data / "l5sharp" / request.param
    return request.param, ET.parse(path).getroot(), load_l5x(path)


def test_each_module_export_loads_its_io_tags_without_warnings(export):
    name, _, result = export
    db = result.db
    assert result.warnings == []
    expected = {tag: type_name for tag, _, _, type_name in EXPORTS[name]}
    base = {t.name: t.data_type.name for t in db.all_tags() if not isinstance(t, AliasTag)}
    assert base == expected
    aliases = {t.name: t.alias_for for t in db.all_tags() if isinstance(t, AliasTag)}
    assert aliases == RACK_ALIASES.get(name, {})
    for alias, target in aliases.items():
        assert db.read(alias) == db.read(target)
        assert db.tag(alias).data_type is db.resolve(target).data_type


def test_module_tags_hold_their_decorated_values(export):
    name, root, result = export
    for tag, module, kind, _ in EXPORTS[name]:
        declared = declared_value(decorated(module_tag(root, module, kind)))
        assert mismatches(result.db.read(tag), declared, tag) == []


def test_what_the_exports_refer_to_resolves(export):
    """Every operand the exports attach to a module tag (engineering units, comments on the
    tag or on its rack-optimised alias) names a member of the tag as loaded."""
    name, root, result = export
    tags = {(module, kind): tag for tag, module, kind, _ in EXPORTS[name]}
    aliases = {alias.split(":")[1]: alias for alias in RACK_ALIASES.get(name, {})}
    checked = 0
    for module in root.iter("Module"):
        for kind, path in _PATHS.items():
            for element in module.findall(path):
                for operand in element.iter():
                    if operand.get("Operand"):
                        tag = tags[module.get("Name"), kind]
                        result.db.resolve(tag + operand.get("Operand"))
                        checked += 1
        for alias in module.findall(".//InAliasTag"):
            slot = module.find("Ports/Port").get("Address")
            for comment in alias.iter("Comment"):
                result.db.resolve(aliases[slot] + comment.get("Operand"))
                checked += 1
    expected = {"Modules-Flex_Mod_1_Module.L5X": 8, "Modules-RackIO.L5X": 1}
    assert checked == expected.get(name, 0)


def test_module_types_are_laid_out_like_user_types(export):
    """Scalar BOOLs packed into hidden host SINTs, nested module types registered first, and a
    Template object that describes every member."""
    _, _, result = export
    for s in result.db.structures:
        if s.kind != "Module":
            continue
        for m in s.members:
            if m.bit is not None:
                host = next(h for h in s.members if h.hidden and h.offset == m.offset)
                assert host.type.name == "SINT"
            if isinstance(m.type, Structure):
                assert m.type.template_id is not None and m.type.kind == "Module"
        blob = template_blob(s)
        assert all(m.name.encode() + b"\0" in blob for m in s.members)


@pytest.mark.parametrize(
    ("xml", "names"),
    [
        # the controller, a module in its chassis, a bridge, a remote adapter, a module in the
        # remote chassis, a drive on the network, a module whose parent is not in the export
        (
            '<Module Name="Local" ParentModule="Local" ParentModPortId="1"><Ports>'
            '<Port Id="1" Address="0" Type="ICP" Upstream="false"/></Ports></Module>'
            '<Module Name="In" ParentModule="Local" ParentModPortId="1"><Ports>'
            '<Port Id="1" Address="3" Type="ICP" Upstream="true"/></Ports></Module>'
            '<Module Name="Enet" ParentModule="Local" ParentModPortId="1"><Ports>'
            '<Port Id="1" Address="4" Type="ICP" Upstream="true"/>'
            '<Port Id="2" Address="192.0.2.1" Type="Ethernet" Upstream="false"/></Ports></Module>'
            '<Module Name="Remote" ParentModule="Enet" ParentModPortId="2"><Ports>'
            '<Port Id="1" Address="0" Type="ICP" Upstream="false"/>'
            '<Port Id="2" Address="192.0.2.2" Type="Ethernet" Upstream="true"/></Ports></Module>'
            '<Module Name="Out" ParentModule="Remote" ParentModPortId="1"><Ports>'
            '<Port Id="1" Address="2" Type="ICP" Upstream="true"/></Ports></Module>'
            '<Module Name="Drive" ParentModule="Enet" ParentModPortId="2"><Ports>'
            '<Port Id="2" Address="drive.example" Type="Ethernet" Upstream="true"/>'
            "</Ports></Module>"
            '<Module Name="Flex" ParentModule="FlexIO" ParentModPortId="1"><Ports>'
            '<Port Id="1" Address="5" Type="5094" Upstream="true"/></Ports></Module>'
            '<Module Name="Node" ParentModule="Scanner" ParentModPortId="2"><Ports>'
            '<Port Id="1" Address="12" Type="DeviceNet" Upstream="true"/></Ports></Module>',
            [None, "Local:3", "Local:4", "Remote", "Remote:2", "Drive", "FlexIO:5", "Node"],
        ),
        # no port of its own: the parent's port it hangs from says whether it is on a network
        (
            '<Module Name="Enet" ParentModule="Local" ParentModPortId="1"><Ports>'
            '<Port Id="2" Address="192.0.2.1" Type="Ethernet" Upstream="false"/></Ports></Module>'
            '<Module Name="Bare" ParentModule="Enet" ParentModPortId="2"/>',
            ["Enet", "Bare"],
        ),
    ],
)
def test_io_tag_prefix(xml, names):
    root = parse_xml(f"<RSLogix5000Content>{xml}</RSLogix5000Content>".encode(), "test")
    modules = root.findall("Module")
    by_name = {m.get("Name").casefold(): m for m in modules}
    assert [io_tag_prefix(m, by_name) for m in modules] == names


@pytest.fixture(scope="module", params=[20, 32], ids=["rev20", "rev32"])
def served(request, export):
    """The export's database served on loopback, Identity revision 20 (pycomm3 names tags
    symbolically: ``Local:1:I`` goes on the wire) or 32 (by Symbol instance id)."""
    name, root, result = export
    with serving(result.db, request.param) as port:
        yield name, root, result, port


def test_pycomm3_lists_and_reads_module_tags_and_members(served):
    name, root, result, port = served
    db = result.db
    with pycomm3_driver(port) as plc:
        listed = {t["tag_name"]: t for t in plc.get_tag_list(program="*")}
        assert set(listed) == {t.name for t in db.all_tags()}
        for tag, module, kind, type_name in EXPORTS[name]:
            assert listed[tag]["data_type_name"] == type_name
            module_name, _, slot = tag.rpartition(":")[0].partition(":")
            io = plc.info["modules"][module_name]
            assert not slot or int(slot) in io["slots"]
            read = plc.read(tag)
            assert read.error is None, tag
            declared = declared_value(decorated(module_tag(root, module, kind)))
            assert mismatches(read.value, declared, tag) == []
            # the template describes the layout the simulator serves
            dt = plc.data_types[type_name]
            s = db.data_type(type_name)
            assert dt["template"]["structure_size"] == s.size
            for m in s.members:
                assert dt["internal_tags"][m.name]["offset"] == m.offset, (type_name, m.name)
            # each top-level member by name
            for member, value in declared.items():
                count = f"{{{len(value)}}}" if isinstance(value, list) else ""
                got = plc.read(f"{tag}.{member}{count}")
                assert mismatches(got.value, value, f"{tag}.{member}") == [], got
        for alias, target in RACK_ALIASES.get(name, {}).items():
            assert plc.read(alias).value == plc.read(target).value == db.read(target)


def test_pylogix_lists_and_reads_module_tags_and_members(served):
    name, root, result, port = served
    db = result.db
    with pylogix_plc(port) as plc:
        listed = plc.GetTagList(allTags=True)
        assert listed.Status == "Success"
        assert {t.TagName for t in listed.Value or ()} == {t.name for t in db.all_tags()}
        types = {t.TagName: t.DataType for t in listed.Value or ()}
        for tag, module, kind, type_name in EXPORTS[name]:
            assert types[tag] == type_name
            whole = plc.Read(tag)
            assert (whole.Status, bytes(whole.Value)) == ("Success", bytes(db[tag].data))
            declared = declared_value(decorated(module_tag(root, module, kind)))
            paths = list(leaves(declared, tag))
            for leaf, read in zip(paths, plc.Read([path for path, _ in paths])):
                assert read.Status == "Success", (leaf, read.Status)
                assert mismatches(read.Value, leaf[1], leaf[0]) == []


def test_a_command_line_tag_of_each_module_type_reads_as_a_dict_of_its_members(export):
    """``T<n>=AB:...:I:0`` on the simulator's command line beside the export: pycomm3 reads the
    new tag as a dict of the module type's visible members."""
    _, _, result = export
    db = result.db
    types = sorted(s.name for s in db.structures if s.kind == "Module")
    declared = [f"T{i}={t}" for i, t in enumerate(types)]
    controller = build_controller(declared, {"product revision": 32 | 11 << 8}, db=db)
    with (
        ServerThread(controller, ("127.0.0.1", 0)) as server,
        pycomm3_driver(server.address[1]) as plc,
    ):
        for i, t in enumerate(types):
            s = db.data_type(t)
            value = plc.read(f"T{i}").value
            assert isinstance(value, dict) and set(value) == {
                m.name for m in s.members if not m.hidden
            }, t
            assert mismatches(value, db.read(f"T{i}"), t) == []
