"""Logix types an export uses without defining them: MESSAGE (also as ``Format="Message"``), PID,
ALARM_ANALOG, ALARM_DIGITAL built in; FBD, SFC and other types built from their decorated data;
opaque types sized by L5K text or a hex image; UDTs using all of these; produced and consumed
tags; partial exports; a definition of a built-in type's name. pycomm3 1.2.16 (defaults) reads
them as dicts of their members, and an opaque one as its bytes; pylogix 1.1.6 lists and reads
them."""

from __future__ import annotations

import pycomm3
import pylogix
import pytest

from cpppo.server.enip.importers.l5x import load_l5x
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.net.server import ServerThread

pytestmark = pytest.mark.timeout(60)


def _doc(tags: str = "", types: str = "", programs: str = "", target: str = "") -> bytes:
    kind = f' TargetType="{target}"' if target else ""
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<RSLogix5000Content SchemaRevision="1.0" SoftwareRevision="33.00"{kind}>
<Controller Name="Plant"><DataTypes>{types}</DataTypes><Tags>{tags}</Tags>
<Programs>{programs}</Programs></Controller></RSLogix5000Content>
""".encode()


def _tag(name: str, dtype: str, *data: str, kind: str = "Base", dims: str = "") -> str:
    dim = f' Dimensions="{dims}"' if dims else ""
    body = "".join(data)
    return f'<Tag Name="{name}" TagType="{kind}" DataType="{dtype}"{dim}>{body}</Tag>'


def _decorated(dtype: str, *members: str) -> str:
    body = "".join(members)
    return f'<Data Format="Decorated"><Structure DataType="{dtype}">{body}</Structure></Data>'


def _v(name: str, dtype: str, value: str) -> str:
    return f'<DataValueMember Name="{name}" DataType="{dtype}" Value="{value}"/>'


def _l5k(text: str) -> str:
    return f'<Data Format="L5K"><![CDATA[{text}]]></Data>'


def _udt(name: str, *members: tuple[str, str]) -> str:
    body = "".join(
        f'<Member Name="{m}" DataType="{t}" Dimension="0" Hidden="false"/>' for m, t in members
    )
    head = f'<DataType Name="{name}" Family="NoFamily" Class="User">'
    return f"{head}<Members>{body}</Members></DataType>"


MESSAGE = _tag(
    "Msg",
    "MESSAGE",
    '<Data Format="Message"><MessageParameters MessageType="CIP Generic" RequestedLength="12"'
    ' ConnectionPath="Remote, 1, 0" CommTypeCode="0" ServiceCode="16#000e" ObjectType="16#0001"'
    ' TargetObject="1" AttributeNumber="16#0007" LocalIndex="0" CacheConnections="TRUE"/>'
    "</Data>",
)
PID = _tag(
    "Loop",
    "PID",
    _l5k("[1,2,3]"),  # Logix's own layout: not applied to ours
    _decorated(
        "PID", _v("EN", "BOOL", "1"), _v("SP", "REAL", "50.0"), _v("KP", "REAL", "1.5"),
        _v("PVT", "BOOL", "1"), _v("Rumour", "REAL", "1.0"),
    ),
)  # fmt: skip
ALMD = _tag(
    "Door",
    "ALARM_DIGITAL",
    '<Data Format="Alarm"><AlarmDigitalParameters Severity="750" MinDurationPRE="100"'
    ' ProgTime="DT#1970-01-01-00:00:01.000_000Z" AckRequired="true" Latched="false"/></Data>',
    _decorated("ALARM_DIGITAL", _v("In", "BOOL", "1"), _v("Severity", "DINT", "750")),
)
ALMA = _tag(
    "Level",
    "ALARM_ANALOG",
    _decorated("ALARM_ANALOG", _v("HHLimit", "REAL", "90.0"), _v("HHSeverity", "DINT", "900")),
)
FBD_TIMER = [
    _v("EnableIn", "BOOL", "1"),
    _v("TimerEnable", "BOOL", "1"),
    _v("PRE", "DINT", "2000"),
    _v("Reset", "BOOL", "0"),
    _v("EnableOut", "BOOL", "1"),
    _v("ACC", "DINT", "150"),
    _v("EN", "BOOL", "1"),
    _v("TT", "BOOL", "1"),
    _v("DN", "BOOL", "0"),
    _v("Status", "DINT", "0"),
    _v("InstructFault", "BOOL", "0"),
    _v("PresetInv", "BOOL", "0"),
]
TON = _tag(
    "Ton1", "FBD_TIMER", _l5k("[16#0000_0003,2000,150,0,0,0]"), _decorated("FBD_TIMER", *FBD_TIMER)
)
TONS = _tag(
    "Tons",
    "FBD_TIMER",
    '<Data Format="Decorated"><Array DataType="FBD_TIMER" Dimensions="2">'
    '<Element Index="[0]"><Structure DataType="FBD_TIMER">' + _v("PRE", "DINT", "7")
    + '</Structure></Element><Element Index="[1]"><Structure DataType="FBD_TIMER">'
    + _v("DN", "BOOL", "1") + "</Structure></Element></Array></Data>",
    dims="2",
)  # fmt: skip
STEP = [_v("Status", "DINT", "0"), _v("X", "BOOL", "1"), _v("T", "DINT", "250"),
        _v("Count", "DINT", "3"), _v("PauseFlag", "BOOL", "0")]  # fmt: skip
AXIS = _tag("Axis1", "AXIS_CIP_DRIVE", _l5k("[1,-2,3.5,'AB',[4,5]]"))
MOTION = _tag("Mv", "MOTION_INSTRUCTION", "<Data>01 00 00 00 FF 00 00 00</Data>")
UDT = _udt("Cell", ("Loop", "PID"), ("Ton", "FBD_TIMER"), ("Axis", "AXIS_CIP_DRIVE"))
PROGRAM = (
    '<Program Name="Seq"><Tags>'
    + _tag("Step1", "SFC_STEP", _decorated("SFC_STEP", *STEP))
    + _tag("Cell1", "Cell", _decorated("Cell", '<StructureMember Name="Loop" DataType="PID">'
           + _v("SP", "REAL", "12.5") + "</StructureMember>"))
    + "</Tags></Program>"
)  # fmt: skip
EXPORT = _doc(
    tags=MESSAGE + PID + ALMD + ALMA + TON + TONS + AXIS + MOTION
    + _tag("Out", "DINT", _l5k("42"), kind="Produced")
    + _tag("In", "PID", kind="Consumed"),
    types=UDT,
    programs=PROGRAM,
)  # fmt: skip


@pytest.fixture(scope="module")
def loaded():
    return load_l5x(EXPORT)


def test_they_load_with_a_warning_only_for_what_our_layout_lacks(loaded):
    assert loaded.warnings == ["data of PID.Rumour: PID has no member Rumour; its values ignored"]
    assert loaded.origins == {
        "FBD_TIMER": "from decorated data",
        "AXIS_CIP_DRIVE": "opaque",
        "MOTION_INSTRUCTION": "opaque",
        "SFC_STEP": "from decorated data",
    }
    names = [t.qualified_name for t in loaded.db.all_tags()]
    assert names == ["Msg", "Loop", "Door", "Level", "Ton1", "Tons", "Axis1", "Mv", "Out", "In",
                     "Program:Seq.Step1", "Program:Seq.Cell1"]  # fmt: skip
    assert "data types: 1 user-defined, 4 built in, 2 from decorated data, 2 opaque" in (
        loaded.summary()
    )


def test_built_in_instruction_types_take_their_data(loaded):
    db = loaded.db
    msg = db.read("Msg")
    assert (msg["REQ_LEN"], msg["Path"], msg["EN_CC"]) == (12, "Remote, 1, 0", True)
    assert (msg["Class"], msg["Instance"], msg["Attribute"]) == (1, 1, 7)
    loop = db.read("Loop")
    assert (loop["EN"], loop["PVT"], loop["SP"], loop["KP"], loop["KI"]) == (True, True, 50, 1.5, 0)
    assert db.read("Loop.CTL") == -(1 << 31) | 1 << 28
    door = db.read("Door")
    assert (door["In"], door["Severity"], door["MinDurationPRE"], door["AckRequired"]) == (
        True, 750, 100, True,
    )  # fmt: skip
    assert door["ProgTime"] == 1_000_000
    assert db.read("Level.HHLimit") == 90.0 and db.read("Level.HHSeverity") == 900
    assert db.read("Out") == 42 and db.read("In.SP") == 0.0  # produced, consumed: base tags


def test_types_built_from_decorated_data(loaded):
    db = loaded.db
    ton = db.data_type("FBD_TIMER")
    assert ton.kind == "Predefined" and 0xF00 < ton.template_id <= 0xFFF
    assert [m.name for m in ton.members if not m.hidden] == [m.split('"')[1] for m in FBD_TIMER]
    # runs of BOOLs share hidden DINTs, as Logix's function-block types keep them
    assert [m.type.name for m in ton.members if m.hidden] == ["DINT"] * 4
    assert db.read("Ton1") == {
        "EnableIn": True, "TimerEnable": True, "PRE": 2000, "Reset": False, "EnableOut": True,
        "ACC": 150, "EN": True, "TT": True, "DN": False, "Status": 0, "InstructFault": False,
        "PresetInv": False,
    }  # fmt: skip
    assert db.read("Tons[0].PRE") == 7 and db.read("Tons[1].DN") is True
    assert db.read("Program:Seq.Step1") == {"Status": 0, "X": True, "T": 250, "Count": 3,
                                             "PauseFlag": False}  # fmt: skip
    assert db.read("Program:Seq.Cell1.Loop.SP") == 12.5


def test_opaque_types_hold_the_bytes_their_data_shows(loaded):
    db = loaded.db
    axis = db.data_type("AXIS_CIP_DRIVE")
    assert [(m.name, m.type.name, m.count) for m in axis.members] == [("Data", "SINT", 24)]
    data = bytes(b & 0xFF for b in db.read("Axis1.Data"))
    assert data[:8] == b"\x01\x00\x00\x00\xfe\xff\xff\xff" and data[12:14] == b"AB"
    assert data[16:24] == b"\x04\x00\x00\x00\x05\x00\x00\x00"
    assert db.data_type("MOTION_INSTRUCTION").size == 8 and db.read("Mv.Data[4]") == -1
    assert db.data_type("Cell").member("Axis").type is axis


def test_pycomm3_and_pylogix_read_them(loaded):
    controller = build_controller(
        ["Spare=FBD_TIMER", "Cells=Cell[2]", "Msgs=MESSAGE[2]"],
        {"product revision": 33 | 11 << 8},
        db=loaded.db,
    )
    with (
        ServerThread(controller, ("127.0.0.1", 0)) as server,
        pycomm3.LogixDriver(f"127.0.0.1:{server.address[1]}/0") as plc,
    ):
        listed = {t["tag_name"]: t["data_type_name"] for t in plc.get_tag_list(program="*")}
        assert listed["Ton1"] == "FBD_TIMER" and listed["Axis1"] == "AXIS_CIP_DRIVE"
        assert listed["Program:Seq.Step1"] == "SFC_STEP" and listed["Cells"] == "Cell"
        ton, msg, axis, cell = (r.value for r in plc.read("Ton1", "Msg", "Axis1", "Cells[1]"))
        assert ton == loaded.db.read("Ton1") and msg["REQ_LEN"] == 12
        assert bytes(b & 0xFF for b in axis["Data"]) == bytes(
            b & 0xFF for b in loaded.db.read("Axis1.Data")
        )
        assert set(cell) == {"Loop", "Ton", "Axis"} and set(cell["Ton"]) == set(ton)
        written = plc.write(("Axis1.Data[0]", 9), ("Spare.PRE", 5), ("Msgs[1].TO", True))
        assert [w.error for w in written] == [None] * 3
        assert plc.read("Axis1.Data[0]").value == 9 and plc.read("Spare.PRE").value == 5
        assert plc.read("Msgs[1]").value["FLAGS"] == 1 << 8
    with (
        ServerThread(controller, ("127.0.0.1", 0)) as server,
        pylogix.PLC("127.0.0.1", port=server.address[1]) as comm,
    ):
        listed = {t.TagName: t.DataType for t in comm.GetTagList(allTags=True).Value}
        assert listed["Ton1"] == "FBD_TIMER" and listed["Program:Seq.Step1"] == "SFC_STEP"
        assert listed["Msg"] == "MESSAGE" and listed["Axis1"] == "AXIS_CIP_DRIVE"
        reads = comm.Read(["Ton1.PRE", "Msg.REQ_LEN", "Loop.SP", "Program:Seq.Step1.T"])
        assert [r.Value for r in reads] == [2000, 12, 50.0, 250]
        assert len(comm.Read("Axis1").Value) == 24  # an opaque structure: its bytes


def test_a_memory_image_made_for_logix_s_own_layout_is_not_applied_to_ours():
    result = load_l5x(_doc(tags=_tag("Loop", "PID", "<Data>" + "00 " * 120 + "</Data>")))
    assert result.warnings == [
        "tag Loop: its 120-byte memory image does not fit our 184-byte layout of PID; ignored"
    ]
    assert result.db.read("Loop.SP") == 0.0


def test_a_definition_of_a_built_in_type_is_accepted_when_it_matches():
    timer = (
        '<DataType Name="TIMER" Family="NoFamily" Class="User"><Members>'
        '<Member Name="CTL" DataType="DINT" Dimension="0" Hidden="true"/>'
        '<Member Name="PRE" DataType="DINT" Dimension="0" Hidden="false"/>'
        '<Member Name="ACC" DataType="DINT" Dimension="0" Hidden="false"/>'
        '<Member Name="EN" DataType="BIT" Dimension="0" Target="CTL" BitNumber="31"/>'
        '<Member Name="TT" DataType="BIT" Dimension="0" Target="CTL" BitNumber="30"/>'
        '<Member Name="DN" DataType="BIT" Dimension="0" Target="CTL" BitNumber="29"/>'
        "</Members></DataType>"
    )
    same = load_l5x(_doc(types=timer, tags=_tag("T", "TIMER")))
    assert same.warnings == [] and same.db.data_type("TIMER").template_id == 0x0F83
    other = load_l5x(_doc(types=_udt("TIMER", ("PRE", "REAL")), tags=_tag("T", "TIMER")))
    assert other.warnings == [
        "data type TIMER: differs from the built-in TIMER; the built-in is served"
    ]
    assert other.db.read("T") == {"PRE": 0, "ACC": 0, "EN": False, "TT": False, "DN": False}


@pytest.mark.parametrize("target", ["DataType", "Rung", "Routine", "Module", "Program"])
def test_partial_exports_load_what_they_carry(target):
    program = (
        '<Program Name="Seq"><Tags>'
        + _tag("Step1", "SFC_STEP", _decorated("SFC_STEP", *STEP))
        + _tag("P", "Pair", _decorated("Pair", _v("B", "REAL", "0.5")))
        + "</Tags></Program>"
    )
    pair = _udt("Pair", ("A", "DINT"), ("B", "REAL"))
    with_tags = load_l5x(_doc(programs=program, types=pair, target=target))
    assert with_tags.target == target and with_tags.warnings == []
    assert [t.qualified_name for t in with_tags.db.all_tags()] == [
        "Program:Seq.Step1", "Program:Seq.P"
    ]  # fmt: skip
    assert with_tags.db.read("Program:Seq.P.B") == 0.5
    types_only = load_l5x(_doc(types=pair, target=target))
    assert types_only.db.data_type("Pair").size == 8
    assert f"tags: none (this {target} export defines no tags)" in types_only.summary()
