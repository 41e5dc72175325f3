"""``enip_server --l5x FILE --check``: what an export loads, by kind and count, and every warning;
exit status 0 when it loads (warnings or not), 2 when it is not a valid export."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cpppo.server.enip.main import main

pytestmark = pytest.mark.timeout(60)

EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<RSLogix5000Content SoftwareRevision="33.01" TargetType="{target}">
<Controller Name="Line4">
<DataTypes>
<DataType Name="Valve" Family="NoFamily" Class="User"><Members>
<Member Name="Open" DataType="BOOL" Dimension="0"/>
<Member Name="Pos" DataType="REAL" Dimension="0"/>
</Members></DataType>
<DataType Name="Bad" Family="NoFamily" Class="User"><Members>
<Member Name="x" DataType="AXIS_CIP_DRIVE" Dimension="0"/></Members></DataType>
</DataTypes>
<Tags>{tags}</Tags>
</Controller>
</RSLogix5000Content>
"""
TAGS = (
    '<Tag Name="V1" TagType="Base" DataType="Valve"/>'
    '<Tag Name="Loop" TagType="Base" DataType="PID"/>'
    '<Tag Name="A" TagType="Alias" AliasFor="V1.Pos"/>'
)


def _check(tmp_path, capsys, text: str) -> tuple[int, list[str], str]:
    path = tmp_path / "export.L5X"
    path.write_text(text)
    status = main(["--l5x", str(path), "--check"])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def test_check_prints_kinds_counts_and_every_warning(tmp_path, capsys):
    status, lines, err = _check(tmp_path, capsys, EXPORT.format(target="Controller", tags=TAGS))
    assert status == 0 and err == ""
    assert lines[1:] == [
        "  Controller export of controller Line4, revision 33",
        "  data types: 1 user-defined, 1 built in",
        "  tags: 3 (3 controller, 0 in 0 program(s), 0 module I/O; 1 aliases)",
        "  warnings: 1",
        "    data type Bad skipped: member x: data type 'AXIS_CIP_DRIVE' is not defined in this"
        " file and no data shows its layout",
    ]
    assert lines[0].endswith("export.L5X:")


def test_check_says_in_one_line_that_a_partial_export_defines_no_tags(tmp_path, capsys):
    status, lines, _ = _check(tmp_path, capsys, EXPORT.format(target="DataType", tags=""))
    assert status == 0
    assert "  tags: none (this DataType export defines no tags)" in lines


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<RSLogix5000Content><Controller>", "not XML"),
        ("<RSLogix5000Content/>", "no <Controller> element"),
        (
            EXPORT.format(
                target="Controller",
                tags='<Tag Name="n" TagType="Base" DataType="SINT"><Data Format="Decorated">'
                '<DataValue DataType="SINT" Value="300"/></Data></Tag>',
            ),
            "n: 300 does not fit SINT",
        ),
    ],
)
def test_check_exits_2_for_what_is_not_a_valid_export(tmp_path, capsys, text, message):
    status, lines, err = _check(tmp_path, capsys, text)
    assert status == 2 and lines == []
    assert err.startswith("enip_server: error:") and message in err and err.count("\n") == 1


def test_check_from_the_command_line(tmp_path, shared_data):
    """As users run it: a real program export; --check without --l5x is a usage error."""
    export = shared_data / "l5sharp" / "Programs-TestProgram.L5X"
    command = [sys.executable, "-m", "cpppo.server.enip"]
    done = subprocess.run([*command, "--l5x", str(export), "--check"], capture_output=True,
                          text=True, timeout=30)  # fmt: skip
    assert done.returncode == 0 and done.stderr == ""
    assert (
        "  data types: 2 user-defined, 1 string, 1 add-on instruction, 1 from decorated data"
        in (done.stdout.splitlines())
    )
    done = subprocess.run([*command, "--check"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--check needs --l5x FILE" in done.stderr
