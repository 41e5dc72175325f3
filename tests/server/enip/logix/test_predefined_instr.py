"""The predefined instruction types (MESSAGE, PID, ALARM_ANALOG, ALARM_DIGITAL, CAM): their
documented members and status bits, their layout under a controller's rules, and pycomm3 1.2.16
(defaults) reading and writing tags of them as dicts of those members."""

from __future__ import annotations

import pycomm3
import pytest

from cpppo.server.enip.logix import (
    INSTRUCTION_TYPES,
    PREDEFINED_TEMPLATE_IDS,
    LayoutRules,
    TagDB,
    instruction_type,
)
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.net.server import ServerThread

#: Members the instruction manuals document, a few per type (name -> type name).
DOCUMENTED = {
    "MESSAGE": {"FLAGS": "INT", "ERR": "INT", "EXERR": "INT", "REQ_LEN": "INT", "DN_LEN": "INT",
                "Class": "INT", "Instance": "DINT", "Path": "STRING", "RemoteElement": "STRING",
                "UnconnectedTimeout": "DINT", "DN": "BOOL", "EN_CC": "BOOL"},
    "PID": {"CTL": "DINT", "SP": "REAL", "KP": "REAL", "PV": "REAL", "OUT": "REAL",
            "MAXTIE": "REAL", "DATA": "REAL", "EN": "BOOL", "PVHA": "BOOL"},
    "ALARM_ANALOG": {"EnableIn": "BOOL", "In": "REAL", "HHLimit": "REAL", "HHSeverity": "DINT",
                     "ProgTime": "LINT", "ROCPeriod": "REAL", "HHInAlarm": "BOOL", "ROC": "REAL",
                     "ROCNegAlarmCount": "DINT", "Status": "DINT", "ROCPeriodInv": "BOOL"},
    "ALARM_DIGITAL": {"EnableIn": "BOOL", "In": "BOOL", "Severity": "DINT", "ProgTime": "LINT",
                      "InAlarm": "BOOL", "Acked": "BOOL", "AlarmCount": "DINT",
                      "AckTime": "LINT", "Status": "DINT", "SeverityInv": "BOOL"},
    "CAM": {"Master": "REAL", "Slave": "REAL", "SegmentType": "DINT"},
}  # fmt: skip

#: (type, status bit member, its word, bit number in the word) as the manuals number them.
STATUS_BITS = [
    ("MESSAGE", "EW", "FLAGS", 2),
    ("MESSAGE", "DN", "FLAGS", 5),
    ("MESSAGE", "EN_CC", "FLAGS", 9),
    ("PID", "EN", "CTL", 31),
    ("PID", "NOZC", "CTL", 20),
    ("PID", "INI", "CTL", 15),
    ("PID", "PVHA", "CTL", 7),
    ("ALARM_DIGITAL", "InstructFault", "Status", 0),
    ("ALARM_DIGITAL", "SeverityInv", "Status", 2),
    ("ALARM_ANALOG", "ROCPeriodInv", "Status", 7),
]


@pytest.mark.parametrize("name", INSTRUCTION_TYPES)
def test_documented_members_and_predefined_template_ids(name):
    s = instruction_type(name.lower())
    assert s is not None and s.name == name and s.kind == "Predefined"
    assert 0xF00 < s.template_id <= 0xFFF and s.template_id not in PREDEFINED_TEMPLATE_IDS
    for member, type_name in DOCUMENTED[name].items():
        m = s.member(member)
        assert not m.hidden and m.type.name == type_name, member
    assert s.member("DATA").count == 17 if name == "PID" else True
    assert s.size % 4 == 0 and max(m.offset + m.size for m in s.members) <= s.size


@pytest.mark.parametrize(("name", "member", "word", "bit"), STATUS_BITS)
def test_status_bits_are_bits_of_their_word(name, member, word, bit):
    s = instruction_type(name)
    m, w = s.member(member), s.member(word)
    assert m.offset * 8 + m.bit == w.offset * 8 + bit


def test_8_byte_members_follow_the_revision_rules():
    v20, v32 = (
        instruction_type("ALARM_DIGITAL"),
        instruction_type("ALARM_DIGITAL", LayoutRules(True)),
    )
    assert v20.member("ProgTime").offset % 4 == 0 and v32.member("ProgTime").offset % 8 == 0
    assert v32.size % 8 == 0 and v32.size >= v20.size
    assert instruction_type("TIMER") is None and instruction_type("NOSUCH") is None


def test_a_database_registers_them_when_first_asked_for():
    db = TagDB(revision=32)
    assert not any(s.name == "PID" for s in db.structures)
    pid = db.data_type("pid")
    assert db.data_type("PID") is pid and pid in db.structures
    assert db.template(pid.template_id).structure is pid
    assert db.data_type("ALARM_ANALOG").member("ProgTime").offset % 8 == 0
    with pytest.raises(KeyError):
        db.data_type("AXIS_CIP_DRIVE")


def test_pycomm3_reads_and_writes_them_as_dicts_of_their_members():
    tags = ["Msg=MESSAGE", "Loop=PID", "Level=ALARM_ANALOG", "Door=ALARM_DIGITAL", "Cams=CAM[3]"]
    controller = build_controller(tags, identity={"product revision": 32 | 11 << 8})
    with (
        ServerThread(controller, ("127.0.0.1", 0)) as server,
        pycomm3.LogixDriver(f"127.0.0.1:{server.address[1]}/0") as plc,
    ):
        listed = {t["tag_name"]: t["data_type_name"] for t in plc.get_tag_list()}
        assert listed == {"Msg": "MESSAGE", "Loop": "PID", "Level": "ALARM_ANALOG",
                          "Door": "ALARM_DIGITAL", "Cams": "CAM"}  # fmt: skip
        written = plc.write(
            ("Msg.REQ_LEN", 10), ("Msg.DN", True), ("Msg.Path", "\x01\x00"),
            ("Loop.SP", 42.5), ("Loop.EN", True), ("Level.HHLimit", 90.0),
            ("Door.Severity", 750), ("Door.InAlarm", True), ("Cams[1].Slave", 2.0),
        )  # fmt: skip
        assert [w.error for w in written] == [None] * 9
        msg, loop, level, door, cams = (
            r.value for r in plc.read("Msg", "Loop", "Level", "Door", "Cams{3}")
        )
    assert set(DOCUMENTED["MESSAGE"]) <= set(msg) and msg["REQ_LEN"] == 10 and msg["DN"] is True
    assert msg["FLAGS"] == 1 << 5 and msg["Path"] == "\x01\x00"
    assert set(DOCUMENTED["PID"]) - {"CTL"} <= set(loop)  # pycomm3 hides a predefined CTL
    assert (loop["SP"], loop["EN"], len(loop["DATA"])) == (42.5, True, 17)
    assert set(DOCUMENTED["ALARM_ANALOG"]) <= set(level) and level["HHLimit"] == 90.0
    assert set(DOCUMENTED["ALARM_DIGITAL"]) <= set(door)
    assert (door["Severity"], door["InAlarm"], door["Acked"]) == (750, True, False)
    assert cams[1] == {"Master": 0.0, "Slave": 2.0, "SegmentType": 0}
    assert controller.tags.read("Loop.CTL") == -(1 << 31)  # EN is the sign bit of a DINT
