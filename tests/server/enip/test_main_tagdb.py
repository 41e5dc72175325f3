"""The simulator's command line with tag databases: ``--l5x FILE``, ``--tag-db FILE``,
``Name=UDT[n]`` tags of their types, ``--revision``; a bad file stops it before it starts."""

from __future__ import annotations

import re
import subprocess
import sys

import pycomm3
import pylogix
import pytest

from cpppo.server.enip.importers.json import save_json
from cpppo.server.enip.logix import MemberDef, TagDB

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def l5x(shared_data):
    return shared_data / "pycomm3.L5X"


HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<RSLogix5000Content SchemaRevision="1.0" SoftwareRevision="32.01">\n'
    '<Controller Name="Plant">\n'
)


def _export(types: str = "", tags: str = "") -> str:
    body = f"<DataTypes>{types}</DataTypes><Tags>{tags}</Tags>"
    return f"{HEAD}{body}</Controller>\n</RSLogix5000Content>\n"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<RSLogix5000Content><Controller>", "not XML"),
        (
            _export(
                tags='<Tag Name="big" TagType="Base" DataType="DINT"><Data Format="Decorated">'
                '<DataValue DataType="DINT" Value="99999999999"/></Data></Tag>'
            ),
            r"line 4: <DataValue>: big: 99999999999 does not fit DINT",
        ),
        (
            _export(
                types='<DataType Name="U" Family="NoFamily" Class="User"><Members>'
                '<Member Name="a" DataType="DINT" Dimension="0"/></Members></DataType>',
                tags='<Tag Name="u" TagType="Base" DataType="U"><Data Format="Decorated">'
                '<Structure DataType="U"><DataValueMember Name="b" DataType="DINT" Value="1"/>'
                "</Structure></Data></Tag>",
            ),
            r"<DataValueMember Name='b'>: u: U has no member 'b'",
        ),
    ],
    ids=["not-xml", "value-too-big", "members-contradict"],
)
def test_a_bad_export_exits_2_naming_the_element_before_serving(tmp_path, text, message):
    path = tmp_path / "bad.L5X"
    path.write_text(text)
    process = _run("--l5x", str(path), "X=DINT")
    assert process.returncode == 2
    assert process.stdout == ""  # never bound, never announced an address
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("enip_server: error:"), process.stderr
    assert str(path) in lines[0]
    assert re.search(message, lines[0]), lines[0]


def test_unmodelled_types_are_skipped_with_one_warning_each(tmp_path, enip_server_process):
    path = tmp_path / "motion.L5X"
    path.write_text(
        _export(
            types='<DataType Name="U" Family="NoFamily" Class="User"><Members>'
            '<Member Name="a" DataType="DINT" Dimension="0"/>'
            '<Member Name="a" DataType="REAL" Dimension="0"/></Members></DataType>',
            tags='<Tag Name="axis" TagType="Base" DataType="AXIS_CIP_DRIVE"/>'
            '<Tag Name="msg" TagType="Base" DataType="MESSAGE"/>'
            '<Tag Name="n" TagType="Base" DataType="DINT"><Data Format="Decorated">'
            '<DataValue DataType="DINT" Value="42"/></Data></Tag>',
        )
    )
    server = enip_server_process("--l5x", str(path))
    with pylogix.PLC("127.0.0.1", port=server.port) as comm:
        assert comm.Read("n").Value == 42
        assert comm.Read("axis").Status == "Path segment error"
        assert comm.Read("msg.REQ_LEN").Value == 0  # MESSAGE is a built-in type now
    server.stop()
    log = server.errors()
    assert log.count("tag axis skipped: data type 'AXIS_CIP_DRIVE' is not defined") == 1
    assert log.count("data type U skipped: structure U: duplicate member name 'a'") == 1
    assert "MESSAGE" not in log
    assert "No tags given" not in log  # the export's tags are served, not the demo set


def test_tag_db_with_command_line_tags_of_its_types(tmp_path, enip_server_process):
    db = TagDB("Line3", revision=20)
    db.define_structure("Pump", [MemberDef("on", "BOOL"), MemberDef("flow", "REAL")])
    db.add_tag("P1", "Pump", value={"on": True, "flow": 2.5})
    path = tmp_path / "line3.json"
    save_json(db, path)
    server = enip_server_process("--tag-db", str(path), "Spare=Pump[2]", "SCADA=INT[10]")
    with pylogix.PLC("127.0.0.1", port=server.port) as comm:
        assert comm.Read("P1.flow").Value == 2.5 and comm.Read("P1.on").Value is True
        assert comm.Write("Spare[1].flow", 7.25).Status == "Success"
        assert comm.Read("Spare[1].flow").Value == 7.25
        assert comm.Write("SCADA[3]", 5).Status == "Success"
        names = {t.TagName for t in comm.GetTagList().Value}
        assert {"P1", "Spare", "SCADA"} <= names
    process = _run("--tag-db", str(path), "P=Valve")
    assert process.returncode == 2 and "unknown data type 'Valve'" in process.stderr


def test_l5x_with_identity_revision_32_and_program_name(enip_server_process, l5x):
    server = enip_server_process("--l5x", str(l5x), "--revision", "32.11", "Extra=DINT")
    with pycomm3.LogixDriver(f"127.0.0.1:{server.port}/0") as plc:
        assert plc.info["revision"] == {"major": 32, "minor": 11}
        assert plc.info["name"] == "pycomm3_demo"
        assert plc._cfg["use_instance_ids"] is True
        assert plc.read("read_udt1.dint").value == 10
        assert plc.write(("Extra", 9)).error is None and plc.read("Extra").value == 9
    # without --revision the Identity takes the export's major revision (20)
    server = enip_server_process("--l5x", str(l5x))
    with pycomm3.LogixDriver(f"127.0.0.1:{server.port}/0") as plc:
        assert plc.info["revision"]["major"] == 20 and plc._cfg["use_instance_ids"] is False
    for bad in (["--revision", "x.y"], ["--l5x", str(l5x), "--tag-db", "x.json"]):
        process = _run(*bad)
        assert process.returncode == 2 and process.stderr.count("\n") == 1, process.stderr
