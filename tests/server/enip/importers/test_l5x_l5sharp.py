"""The l5sharp component exports of real projects (../shared/data/l5sharp: data types, add-on
instruction definitions, a program, a MESSAGE rung; read in place): each loads with exactly the
expected warnings; the tags it defines are served and read by pycomm3 1.2.16 (defaults) with
their values; and a tag of each type it defines, declared on the command line (``Name=Type``),
reads as a dict of that type's members."""

from __future__ import annotations

import re
import struct

import pycomm3
import pytest

from cpppo.server.enip.importers.l5x import load_l5x
from cpppo.server.enip.logix import Structure
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.net.server import ServerThread

pytestmark = pytest.mark.timeout(60)

ALARM_MISSING = (
    "data type ComplexType skipped: member AlarmMember: data type 'ALARM' is not defined in this"
    " file and no data shows its layout"
)
#: Each export and exactly the warnings it loads with.
EXPECTED_WARNINGS = {
    "DataTypes-AlarmType.L5X": [],
    "DataTypes-ArrayType.L5X": [],
    "DataTypes-BoolTest.L5X": [],
    "DataTypes-ComplexType.L5X": [ALARM_MISSING],
    "DataTypes-ModuleType.L5X": [
        "data type ModuleType skipped: member AIChannel: data type 'CHANNEL_AI:O:0' is not"
        " defined in this file and no data shows its layout"
    ],
    "DataTypes-MultipleDataTypes.L5X": [],
    "DataTypes-NestedType.L5X": [
        ALARM_MISSING,
        "data type NestedType skipped: member Complex: data type 'ComplexType' was skipped",
    ],
    "DataTypes-SimpleType.L5X": [],
    "DataTypes-aoi_Test.L5X": [],
    "Instructions-aoiSigned_AOI.L5X": [
        "add-on instruction aoiSigned: its definition is encoded: laid out from its parameters only"
    ],
    "Instructions-aoi_Test.L5X": [],
    "Programs-TestProgram.L5X": [],
    "Rungs-Message_Rung.L5X": [],
}
#: The types each export defines (or its data shows), as served.
EXPECTED_TYPES = {
    "DataTypes-AlarmType.L5X": {"AlarmType"},
    "DataTypes-ArrayType.L5X": {"ArrayType"},
    "DataTypes-BoolTest.L5X": {"BoolTest"},
    "DataTypes-ComplexType.L5X": {"MyStringType", "SimpleType", "aoi_Test"},
    "DataTypes-ModuleType.L5X": set(),
    "DataTypes-MultipleDataTypes.L5X": {"AlarmType", "ArrayType", "BoolTest"},
    "DataTypes-NestedType.L5X": {"SimpleType", "aoi_Test"},
    "DataTypes-SimpleType.L5X": {"SimpleType"},
    "DataTypes-aoi_Test.L5X": {"SimpleType", "aoi_Test"},
    "Instructions-aoiSigned_AOI.L5X": {"aoiSigned"},
    "Instructions-aoi_Test.L5X": {"SimpleType", "aoi_Test"},
    "Programs-TestProgram.L5X": {"ComplexType", "MyStringType", "SimpleType", "aoi_Test", "ALARM"},
    "Rungs-Message_Rung.L5X": set(),
}
#: The tags each export defines.
EXPECTED_TAGS = {
    "Programs-TestProgram.L5X": ["Program:TestProgram.MyTag"],
    "Rungs-Message_Rung.L5X": ["Program:MainProgram.MessageTag"],
}


@pytest.fixture(scope="module")
def l5sharp(shared_data):
    return shared_data / "l5sharp"


def _pycomm3_view(s: Structure, value):
    """``value`` as pycomm3 shows it: without a predefined type's CTL (nested ones too)."""
    if isinstance(value, dict):
        return {
            k: _pycomm3_view(s.member(k).type, v)
            for k, v in value.items()
            if not (s.kind == "Predefined" and k in ("CTL", "Control"))
        }
    if isinstance(value, list) and isinstance(s, Structure):
        return [_pycomm3_view(s, v) for v in value]
    return value


@pytest.mark.parametrize("name", sorted(EXPECTED_WARNINGS))
def test_each_export_loads_with_the_expected_warnings_only(l5sharp, name):
    result = load_l5x(l5sharp / name)
    assert result.warnings == EXPECTED_WARNINGS[name]
    assert {s.name for s in result.db.structures if s.kind != "Predefined"} | set(
        result.origins
    ) == EXPECTED_TYPES[name]
    assert [t.qualified_name for t in result.db.all_tags()] == EXPECTED_TAGS.get(name, [])


@pytest.mark.parametrize("name", sorted(EXPECTED_WARNINGS))
def test_its_tags_and_a_tag_of_each_of_its_types_read_in_pycomm3(l5sharp, name):
    db = load_l5x(l5sharp / name).db
    types = sorted(EXPECTED_TYPES[name])
    declared = [f"T_{t}={t}" for t in types] + [f"A_{t}={t}[2]" for t in types[:1]]
    controller = build_controller(declared, {"product revision": 32 | 11 << 8}, db=db)
    with (
        ServerThread(controller, ("127.0.0.1", 0)) as server,
        pycomm3.LogixDriver(f"127.0.0.1:{server.address[1]}/0") as plc,
    ):
        listed = {t["tag_name"] for t in plc.get_tag_list(program="*")}
        assert listed == {t.qualified_name for t in db.all_tags()}
        for tag in db.all_tags():
            path = f"{tag.qualified_name}{{{tag.elements}}}" if tag.dims else tag.qualified_name
            result = plc.read(path)
            assert result.error is None, path
            assert result.value == _pycomm3_view(tag.data_type, tag.value), path
        for t in types:
            s = db.data_type(t)
            value = plc.read(f"T_{t}").value
            if s.is_string:
                assert value == "", t
            else:
                assert isinstance(value, dict) and value == _pycomm3_view(s, db.read(f"T_{t}"))
                visible = {m.name for m in s.members if not m.hidden}
                assert set(value) == visible - ({"CTL"} if s.kind == "Predefined" else set()), t


def test_the_aoi_test_layout_matches_its_definition_and_its_instance_data(l5sharp):
    s = load_l5x(l5sharp / "Instructions-aoi_Test.L5X").db.data_type("aoi_Test")
    bits = {m.name: m.bit for m in s.members if m.bit is not None}
    assert bits == {"EnableIn": 0, "EnableOut": 1, "InputTest": 2, "Test": 3, "LocalBool": 4,
                    "Alias": 4}  # fmt: skip
    offsets = {m.name: m.offset for m in s.members if m.bit is None}
    assert offsets == {"ZZZZZZZZZZaoi_Test0": 0, "OutputTest": 4, "Config": 8, "New": 12,
                       "LocalComplex": 16, "LocalArray": 40, "LocalString": 60}  # fmt: skip
    assert s.size == 152  # the STRING's 88 bytes end at 148; v32 sizes it to 8 (a LINT inside)
    assert "InOutTest" not in offsets and "InOutArray" not in offsets  # references


def test_the_program_data_reads_the_same_from_l5k_alone_and_from_decorated_data_alone(l5sharp):
    """MyTag's L5K text (Logix's own member order, hidden hosts included) and its decorated data
    (by name) give the same values (but one the export itself gives two values for), except for
    the ALARM member: from the decorated data its
    layout is built from the members shown; from L5K text alone it is opaque, 96 bytes (24
    numbers), holding exactly the L5K data."""
    text = (l5sharp / "Programs-TestProgram.L5X").read_text(encoding="utf-8-sig")
    l5k_only = re.sub(r'<Data Format="Decorated">.*?</Data>', "", text, flags=re.S)
    decorated_only = re.sub(r'<Data Format="L5K">.*?</Data>', "", text, flags=re.S)
    assert l5k_only != text != decorated_only
    both = load_l5x(text.encode()).db.read("Program:TestProgram.MyTag")
    loaded = load_l5x(l5k_only.encode())
    from_l5k = loaded.db.read("Program:TestProgram.MyTag")
    from_decorated = load_l5x(decorated_only.encode()).db.read("Program:TestProgram.MyTag")
    assert from_decorated == both
    assert both["TimeMember"]["PRE"] == 5000 and both["AOIType"]["EnableIn"] is True
    assert both["AlarmMember"]["HHLimit"] == 3.4028234663852886e38
    # the export's own L5K text says TimeMember.PRE is 0, its decorated data 5000 (which wins)
    assert from_l5k["TimeMember"] == both["TimeMember"] | {"PRE": 0}
    assert {k: v for k, v in from_l5k.items() if k not in ("AlarmMember", "TimeMember")} == {
        k: v for k, v in both.items() if k not in ("AlarmMember", "TimeMember")
    }
    assert loaded.warnings == [] and loaded.origins == {"ALARM": "opaque"}
    opaque = bytes(x & 0xFF for x in from_l5k["AlarmMember"]["Data"])
    assert len(opaque) == 96 and opaque[:4] == (1).to_bytes(4, "little")
    assert struct.unpack_from("<f", opaque, 8)[0] == 3.4028234663852886e38  # HHLimit


def test_the_alarm_type_is_built_from_what_the_decorated_data_shows(l5sharp):
    db = load_l5x(l5sharp / "Programs-TestProgram.L5X").db
    alarm = db.data_type("ALARM")
    assert alarm.kind == "Predefined" and 0xF00 < alarm.template_id <= 0xFFF
    assert [m.name for m in alarm.members if not m.hidden] == [
        "EnableIn", "In", "HHLimit", "HLimit", "LLimit", "LLLimit", "Deadband", "ROCPosLimit",
        "ROCNegLimit", "ROCPeriod", "EnableOut", "HHAlarm", "HAlarm", "LAlarm", "LLAlarm",
        "ROCPosAlarm", "ROCNegAlarm", "ROC", "Status", "InstructFault", "DeadbandInv",
        "ROCPosLimitInv", "ROCNegLimitInv", "ROCPeriodInv",
    ]  # fmt: skip
    assert (
        alarm.member("HHLimit").type.name == "REAL" and alarm.member("Status").type.name == "DINT"
    )


def test_the_message_rung_tag_takes_its_message_parameters(l5sharp):
    db = load_l5x(l5sharp / "Rungs-Message_Rung.L5X").db
    message = db.read("Program:MainProgram.MessageTag")
    assert message["REQ_LEN"] == 1 and message["LocalIndex"] == 0 and message["DN"] is False


def test_enip_server_serves_command_line_tags_of_an_export_s_types(l5sharp, enip_server_process):
    """``enip_server --l5x Instructions-aoi_Test.L5X Inst=aoi_Test Simple=SimpleType[2]``."""
    export = l5sharp / "Instructions-aoi_Test.L5X"
    server = enip_server_process("--l5x", str(export), "Inst=aoi_Test", "Simple=SimpleType[2]")
    with pycomm3.LogixDriver(f"127.0.0.1:{server.port}/0") as plc:
        listed = {t["tag_name"]: t["data_type_name"] for t in plc.get_tag_list()}
        assert listed == {"Inst": "aoi_Test", "Simple": "SimpleType"}
        written = plc.write(("Inst.Config", 3), ("Inst.InputTest", True))
        assert [w.error for w in written] == [None, None]
        inst = plc.read("Inst").value
        assert set(inst) == {"EnableIn", "EnableOut", "InputTest", "Test", "LocalBool",
                             "OutputTest", "Config", "New", "LocalComplex", "LocalArray",
                             "LocalString", "Alias"}  # fmt: skip
        assert (inst["Config"], inst["InputTest"], inst["LocalString"]) == (3, True, "")
        simple = plc.read("Simple{2}").value
        assert [set(s) for s in simple] == [
            {"BoolMember", "SintMember", "IntMember", "DintMember", "LintMember", "RealMember"}
        ] * 2
