"""Add-on instructions from L5X: laid out as Logix lays them out (BOOLs in the host DINT first,
then the other parameters and the local tags), nested, with UDT and array members and alias
parameters; instances valued from L5K and decorated data; pycomm3 1.2.16 and pylogix 1.1.6 read
an instance as a dict of its members and each member by name."""

from __future__ import annotations

import re

import pycomm3
import pylogix
import pytest

from cpppo.server.enip.importers.l5x import load_l5x
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.net.server import ServerThread

pytestmark = pytest.mark.timeout(60)


def _param(name: str, dtype: str, usage: str = "Input", **extra: str) -> str:
    attrs = " ".join(f'{k}="{v}"' for k, v in extra.items())
    return (
        f'<Parameter Name="{name}" TagType="Base" DataType="{dtype}" Usage="{usage}" '
        f'Radix="Decimal" Required="false" Visible="true" ExternalAccess="Read/Write" {attrs}/>'
    )


def _alias(name: str, target: str) -> str:
    return (
        f'<Parameter Name="{name}" TagType="Alias" Usage="Output" AliasFor="{target}" '
        'Required="false" Visible="true" ExternalAccess="Read/Write"/>'
    )


def _local(name: str, dtype: str, dims: str = "") -> str:
    dim = f' Dimensions="{dims}"' if dims else ""
    return f'<LocalTag Name="{name}" DataType="{dtype}"{dim} ExternalAccess="Read/Write"/>'


def _aoi(name: str, params: str, locals_: str = "") -> str:
    enable = _param("EnableIn", "BOOL") + _param("EnableOut", "BOOL", "Output")
    return (
        f'<AddOnInstructionDefinition Name="{name}" Revision="1.0"><Parameters>{enable}{params}'
        f"</Parameters><LocalTags>{locals_}</LocalTags></AddOnInstructionDefinition>"
    )


def _value(name: str, dtype: str, value: str) -> str:
    return f'<DataValueMember Name="{name}" DataType="{dtype}" Value="{value}"/>'


PAIR = (
    '<DataType Name="Pair" Family="NoFamily" Class="User"><Members>'
    '<Member Name="A" DataType="DINT" Dimension="0" Radix="Decimal" Hidden="false"/>'
    '<Member Name="B" DataType="REAL" Dimension="0" Radix="Float" Hidden="false"/>'
    "</Members></DataType>"
)
INNER = _aoi(
    "Inner",
    _param("Start", "BOOL") + _param("Gain", "REAL") + _param("Done", "BOOL", "Output")
    + _param("Ref", "DINT", "InOut"),
    _local("Count", "DINT") + _local("Busy", "BOOL"),
)  # fmt: skip
OUTER = _aoi(
    "Outer",
    _param("Mode", "INT") + _param("Flags", "BOOL", Dimensions="32") + _param("Run", "BOOL")
    + _alias("RunAlias", "Running") + _alias("CountAlias", "Stage.Count")
    + _alias("Bit3", "Word.3") + _alias("SecondB", "Pairs[1].B") + _alias("Nowhere", "Missing"),
    _local("Stage", "Inner") + _local("Pairs", "Pair", "3") + _local("Word", "DINT")
    + _local("Running", "BOOL"),
)  # fmt: skip
MANY = _aoi("Many", "".join(_param(f"B{i}", "BOOL") for i in range(38)) + _param("N", "DINT"))

OUT1_L5K = "[9,7,[5],[1,2.5,11],[[1,1.5],[2,2.5],[3,3.5]],8]"
OUT1_DECORATED = (
    '<Structure DataType="Outer">'
    + _value("EnableIn", "BOOL", "1")
    + _value("EnableOut", "BOOL", "0")
    + _value("Mode", "INT", "7")
    + '<ArrayMember Name="Flags" DataType="BOOL" Dimensions="32" Radix="Decimal">'
    + "".join(f'<Element Index="[{i}]" Value="{int(i in (0, 2))}"/>' for i in range(32))
    + "</ArrayMember>"
    + _value("Run", "BOOL", "0")
    + _value("RunAlias", "BOOL", "1")
    + _value("CountAlias", "DINT", "11")
    + _value("Bit3", "BOOL", "1")
    + _value("SecondB", "REAL", "2.5")
    + _value("Nowhere", "BOOL", "0")
    + "</Structure>"
)
IN1_DECORATED = (
    '<Structure DataType="Inner">'
    + _value("EnableIn", "BOOL", "1")
    + _value("EnableOut", "BOOL", "1")
    + _value("Start", "BOOL", "0")
    + _value("Gain", "REAL", "0.5")
    + _value("Done", "BOOL", "1")
    + "</Structure>"
)
EXPORT = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<RSLogix5000Content SchemaRevision="1.0" SoftwareRevision="32.01">
<Controller Name="Aoi">
<DataTypes>{PAIR}</DataTypes>
<AddOnInstructionDefinitions>{OUTER}{INNER}{MANY}</AddOnInstructionDefinitions>
<Tags>
<Tag Name="Out1" TagType="Base" DataType="Outer"><Data Format="L5K"><![CDATA[{OUT1_L5K}]]></Data>
<Data Format="Decorated">{OUT1_DECORATED}</Data></Tag>
<Tag Name="Outs" TagType="Base" DataType="Outer" Dimensions="2"/>
<Tag Name="M" TagType="Base" DataType="Many"/>
</Tags>
<Programs><Program Name="Main"><Tags>
<Tag Name="In1" TagType="Base" DataType="Inner"><Data Format="Decorated">{IN1_DECORATED}</Data>
</Tag></Tags></Program></Programs>
</Controller>
</RSLogix5000Content>
"""

STAGE = {"EnableIn": True, "EnableOut": False, "Start": False, "Done": False, "Busy": False,
         "Gain": 2.5, "Count": 11}  # fmt: skip
OUT1 = {
    "EnableIn": True, "EnableOut": False, "Run": False, "Running": True, "Mode": 7,
    "Flags": [i in (0, 2) for i in range(32)], "Stage": STAGE,
    "Pairs": [{"A": 1, "B": 1.5}, {"A": 2, "B": 2.5}, {"A": 3, "B": 3.5}], "Word": 8,
    "RunAlias": True, "Bit3": True,
}  # fmt: skip
IN1 = {"EnableIn": True, "EnableOut": True, "Start": False, "Done": True, "Busy": False,
       "Gain": 0.5, "Count": 0}  # fmt: skip


@pytest.fixture(scope="module")
def loaded():
    return load_l5x(EXPORT.encode())


def _layout(s) -> list[tuple]:
    return [(m.name, m.type.name, m.offset, m.count, m.bit, m.hidden) for m in s.members]


def test_bools_first_in_the_host_dint_then_parameters_then_local_tags(loaded):
    db = loaded.db
    assert _layout(db.data_type("Inner")) == [
        ("ZZZZZZZZZZInner0", "DINT", 0, 0, None, True),
        ("EnableIn", "BOOL", 0, 0, 0, False),
        ("EnableOut", "BOOL", 0, 0, 1, False),
        ("Start", "BOOL", 0, 0, 2, False),
        ("Done", "BOOL", 0, 0, 3, False),
        ("Busy", "BOOL", 0, 0, 4, False),
        ("Gain", "REAL", 4, 0, None, False),
        ("Count", "DINT", 8, 0, None, False),
    ]  # the InOut parameter Ref takes no memory
    outer = db.data_type("Outer")
    assert (outer.kind, outer.size, db.data_type("Inner").size) == ("AOI", 52, 12)
    assert _layout(outer)[5:] == [
        ("Mode", "INT", 4, 0, None, False),
        ("Flags", "DWORD", 8, 1, None, False),
        ("Stage", "Inner", 12, 0, None, False),
        ("Pairs", "Pair", 24, 3, None, False),
        ("Word", "DINT", 48, 0, None, False),
        # alias parameters of a BOOL or a bit: BOOL members on the same bit (CountAlias and
        # SecondB, aliases of a DINT and a REAL, are not members: clients would misread them)
        ("RunAlias", "BOOL", 0, 0, 3, False),
        ("Bit3", "BOOL", 48, 0, 3, False),
    ]
    many = db.data_type("Many")  # 40 BOOLs: two host DINTs, then N
    assert [m.name for m in many.members if m.hidden] == ["ZZZZZZZZZZMany0", "ZZZZZZZZZZMany1"]
    b37 = many.member("B37")
    assert (b37.offset, b37.bit, many.member("N").offset, many.size) == (4, 7, 8, 12)
    assert loaded.warnings == ["add-on instruction Outer: alias parameter Nowhere does not resolve"]


def test_instances_take_l5k_and_decorated_values(loaded):
    db = loaded.db
    assert db.read("Out1") == OUT1  # the local tags come from the L5K data
    assert db.read("Program:Main.In1") == IN1
    assert db.read("Outs[1].Stage") == dict.fromkeys(STAGE, 0) | {
        k: False for k, v in STAGE.items() if isinstance(v, bool)
    }


def test_decorated_data_alone_and_l5k_data_alone_agree_on_the_parameters():
    decorated_only = load_l5x(re.sub(r'<Data Format="L5K">.*?</Data>', "", EXPORT).encode())
    l5k_only = load_l5x(
        re.sub(r'<Data Format="Decorated">.*?</Data>', "", EXPORT, flags=re.S).encode()
    )
    assert (
        decorated_only.warnings
        == l5k_only.warnings
        == ["add-on instruction Outer: alias parameter Nowhere does not resolve"]
    )
    from_decorated, from_l5k = decorated_only.db.read("Out1"), l5k_only.db.read("Out1")
    params = ["EnableIn", "EnableOut", "Mode", "Flags", "Run", "RunAlias", "Bit3"]
    assert {p: from_decorated[p] for p in params} == {p: from_l5k[p] for p in params}
    assert from_l5k == OUT1


def test_pycomm3_reads_an_instance_as_a_dict_and_each_member_by_name(loaded):
    controller = build_controller(
        ["Spare=Outer", "Program:Main.Extra=Inner[2]"],
        identity={"product revision": 32 | 11 << 8},
        db=loaded.db,
    )
    with (
        ServerThread(controller, ("127.0.0.1", 0)) as server,
        pycomm3.LogixDriver(f"127.0.0.1:{server.address[1]}/0") as plc,
    ):
        listed = {t["tag_name"]: t["data_type_name"] for t in plc.get_tag_list(program="*")}
        assert listed == {"Out1": "Outer", "Outs": "Outer", "M": "Many", "Spare": "Outer",
                          "Program:Main.In1": "Inner", "Program:Main.Extra": "Inner"}  # fmt: skip
        out1, in1 = (r.value for r in plc.read("Out1", "Program:Main.In1"))
        assert out1 == OUT1 and in1 == IN1
        by_name = {m: plc.read(f"Out1.{m}").value for m in ("Mode", "RunAlias", "Bit3")}
        assert by_name == {"Mode": 7, "RunAlias": True, "Bit3": True}
        assert plc.read("Out1.Stage.Gain").value == 2.5
        assert plc.read("Out1.Pairs[2].B").value == 3.5
        written = plc.write(("Spare.Stage.Count", 5), ("Spare.RunAlias", True))
        assert [w.error for w in written] == [None, None]
        spare = plc.read("Spare").value
        assert (spare["Running"], spare["Stage"]["Count"]) == (True, 5)
        assert set(plc.read("Program:Main.Extra{2}").value[1]) == set(IN1)
    with (
        ServerThread(controller, ("127.0.0.1", 0)) as server,
        pylogix.PLC("127.0.0.1", port=server.address[1]) as comm,
    ):
        assert comm.Read("Out1.Stage.Count").Value == 11
        assert comm.Read("Out1.RunAlias").Value is True
        assert comm.Read("Program:Main.In1.Gain").Value == 0.5


def test_an_encoded_definition_is_laid_out_from_its_parameters():
    """A signed or protected add-on instruction hides its local tags: its instances' L5K text
    (made for the whole layout) is not applied; their decorated data is."""
    params = _param("EnableIn", "BOOL") + _param("EnableOut", "BOOL", "Output")
    encoded = (
        '<EncodedData EncodedType="AddOnInstructionDefinition" Name="Sealed" Revision="1.0">'
        f"<Parameters>{params}{_param('Level', 'REAL')}</Parameters>AAnhMyyI5iS32KPK</EncodedData>"
    )
    tag = (
        '<Tag Name="S1" TagType="Base" DataType="Sealed">'
        + '<Data Format="L5K"><![CDATA[[1,2.5,99,98]]]></Data>'
        + '<Data Format="Decorated"><Structure DataType="Sealed">'
        + _value("EnableIn", "BOOL", "1") + _value("Level", "REAL", "2.5")
        + "</Structure></Data></Tag>"
    )  # fmt: skip
    export = (
        '<?xml version="1.0" encoding="UTF-8"?><RSLogix5000Content SoftwareRevision="36.00">'
        f'<Controller Name="C"><AddOnInstructionDefinitions>{encoded}'
        f"</AddOnInstructionDefinitions><Tags>{tag}</Tags></Controller></RSLogix5000Content>"
    )
    result = load_l5x(export.encode())
    assert result.warnings == [
        "add-on instruction Sealed: its definition is encoded: laid out from its parameters only"
    ]
    assert result.db.read("S1") == {"EnableIn": True, "EnableOut": False, "Level": 2.5}
