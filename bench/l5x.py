"""Benchmark a big L5X export: how long it takes to load, and pycomm3 ``LogixDriver.open()`` on it.

The export is generated in a temporary folder: a complete controller export (revision 32, decorated
data) with user-defined types (BOOL members, arrays, a nested UDT, a STRING member), two add-on
instructions (one nesting the other, with array and UDT local tags) and, spread over the
controller scope and ``--programs`` programs, atomics of every size, arrays, BOOL arrays, strings,
UDT and AOI instances: ``--tags`` tags in all.

Printed: the file's size and tag count, ``load_l5x`` time (each of ``--repeat`` runs), the
simulator's start-up time, then pycomm3 1.2.16 ``LogixDriver.open()`` (its defaults: uploads every
controller and program tag and their templates) against the simulator serving the export in its
own process on 127.0.0.1 and a free port, each of ``--repeat`` runs.

    python bench/l5x.py [--tags 10000] [--programs 10] [--repeat 3] [--keep DIR]

Goals (figures, not tests): load < 2 s, LogixDriver.open() < 2 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pycomm3 import LogixDriver

from cpppo.server.enip.importers.l5x import load_l5x

GOAL_SECONDS = 2.0

# -- the export -------------------------------------------------------------------------------


def _udt_member(name: str, data_type: str, dim: int = 0, **extra: str) -> str:
    hidden = "true" if name.startswith("ZZZZZZZZZZ") else "false"
    attrs = "".join(f' {k}="{v}"' for k, v in extra.items())
    return (
        f'<Member Name="{name}" DataType="{data_type}" Dimension="{dim}" Hidden="{hidden}"'
        f'{attrs} ExternalAccess="Read/Write"/>'
    )


def _udt(name: str, *members: str) -> str:
    body = "\n".join(members)
    head = f'<DataType Name="{name}" Family="NoFamily" Class="User">'
    return f"{head}\n<Members>\n{body}\n</Members>\n</DataType>"


_HOST = "ZZZZZZZZZZSetpoint0"
_UDTS = "\n".join(
    [
        _udt(
            "Setpoint",
            _udt_member(_HOST, "SINT"),
            _udt_member("Enabled", "BIT", Target=_HOST, BitNumber="0"),
            _udt_member("Manual", "BIT", Target=_HOST, BitNumber="1"),
            _udt_member("Value", "REAL"),
            _udt_member("Limits", "REAL", 2),
        ),
        _udt(
            "Station",
            _udt_member("Id", "DINT"),
            _udt_member("Counts", "INT", 4),
            _udt_member("Flow", "Setpoint"),
            _udt_member("Label", "STRING"),
            _udt_member("Alarms", "BOOL", 32),
        ),
    ]
)


def _param(name: str, data_type: str, usage: str, value: str, *, hidden: bool = False) -> str:
    visible = "false" if hidden else "true"
    return (
        f'<Parameter Name="{name}" TagType="Base" DataType="{data_type}" Usage="{usage}" '
        f'Radix="Decimal" Required="false" Visible="{visible}" ExternalAccess="Read/Write">\n'
        f'<DefaultData Format="Decorated">\n<DataValue DataType="{data_type}" Radix="Decimal" '
        f'Value="{value}"/>\n</DefaultData>\n</Parameter>'
    )


def _aoi(name: str, params: list[str], local_tags: str) -> str:
    return (
        f'<AddOnInstructionDefinition Name="{name}" Revision="1.0" ExecutePrescan="false" '
        'ExecutePostscan="false" ExecuteEnableInFalse="false" SoftwareRevision="v32.00">\n'
        "<Parameters>\n" + "\n".join(params) + "\n</Parameters>\n"
        f"<LocalTags>\n{local_tags}</LocalTags>\n</AddOnInstructionDefinition>"
    )


_SYSTEM = [
    _param("EnableIn", "BOOL", "Input", "1", hidden=True),
    _param("EnableOut", "BOOL", "Output", "0", hidden=True),
]
_AOIS = "\n".join(
    [
        _aoi(
            "Motor",
            [
                *_SYSTEM,
                _param("Run", "BOOL", "Input", "0"),
                _param("Speed", "REAL", "Input", "0.0"),
                _param("Faulted", "BOOL", "Output", "0"),
                _param("Starts", "DINT", "Output", "0"),
            ],
            '<LocalTag Name="History" DataType="REAL" Dimensions="8" Radix="Float" '
            'ExternalAccess="Read/Write"/>\n'
            '<LocalTag Name="Cfg" DataType="Setpoint" ExternalAccess="Read/Write"/>\n',
        ),
        _aoi(
            "Pump",
            [
                *_SYSTEM,
                _param("Cmd", "BOOL", "Input", "0"),
                _param("Flow", "REAL", "Output", "0.0"),
            ],
            '<LocalTag Name="Drive" DataType="Motor" ExternalAccess="Read/Write"/>\n'
            '<LocalTag Name="Pressures" DataType="DINT" Dimensions="3" Radix="Decimal" '
            'ExternalAccess="Read/Write"/>\n',
        ),
    ]
)


def _member(name: str, data_type: str, value: object, radix: str = "Decimal") -> str:
    return (
        f'<DataValueMember Name="{name}" DataType="{data_type}" Radix="{radix}" Value="{value}"/>'
    )


def _array_member(name: str, data_type: str, values: list, radix: str = "Decimal") -> str:
    elements = "".join(f'<Element Index="[{i}]" Value="{v}"/>\n' for i, v in enumerate(values))
    return (
        f'<ArrayMember Name="{name}" DataType="{data_type}" Dimensions="{len(values)}" '
        f'Radix="{radix}">\n{elements}</ArrayMember>'
    )


def _structure(data_type: str, members: list[str], name: str | None = None) -> str:
    """A decorated structure: the tag's own (``name`` None) or a member called ``name``."""
    if name is None:
        head, tail = f'<Structure DataType="{data_type}">', "</Structure>"
    else:
        head = f'<StructureMember Name="{name}" DataType="{data_type}">'
        tail = "</StructureMember>"
    return "\n".join([head, *members, tail])


def _string(text: str, name: str | None = None) -> str:
    return _structure(
        "STRING",
        [
            _member("LEN", "DINT", len(text)),
            f'<DataValueMember Name="DATA" DataType="STRING" Radix="ASCII">\n'
            f"<![CDATA['{text}']]>\n</DataValueMember>",
        ],
        name,
    )


def _setpoint(i: int, name: str | None = None) -> str:
    members = [
        _member("Enabled", "BOOL", i % 2),
        _member("Manual", "BOOL", 0),
        _member("Value", "REAL", f"{i}.5", "Float"),
        _array_member("Limits", "REAL", [f"{-i}.0", f"{i}.0"], "Float"),
    ]
    return _structure("Setpoint", members, name)


def _station(i: int) -> str:
    members = [
        _member("Id", "DINT", i),
        _array_member("Counts", "INT", [i % 100, 1, 2, 3]),
        _setpoint(i, "Flow"),
        _string(f"st{i}", "Label"),
        _array_member("Alarms", "BOOL", [int(b == i % 32) for b in range(32)]),
    ]
    return _structure("Station", members)


def _motor(i: int, name: str | None = None) -> str:
    members = [
        _member("EnableIn", "BOOL", 1),
        _member("EnableOut", "BOOL", 1),
        _member("Run", "BOOL", i % 2),
        _member("Speed", "REAL", f"{i}.25", "Float"),
        _member("Faulted", "BOOL", 0),
        _member("Starts", "DINT", i),
        _array_member("History", "REAL", [f"{k}.0" for k in range(8)], "Float"),
        _setpoint(i, "Cfg"),
    ]
    return _structure("Motor", members, name)


def _pump(i: int) -> str:
    members = [
        _member("EnableIn", "BOOL", 1),
        _member("EnableOut", "BOOL", 1),
        _member("Cmd", "BOOL", 1),
        _member("Flow", "REAL", f"{i}.75", "Float"),
        _motor(i, "Drive"),
        _array_member("Pressures", "DINT", [i, i + 1, i + 2]),
    ]
    return _structure("Pump", members)


def _tag(name: str, data_type: str, data: str, dims: str = "") -> str:
    dimensions = f' Dimensions="{dims}"' if dims else ""
    return (
        f'<Tag Name="{name}" TagType="Base" DataType="{data_type}"{dimensions} '
        f'ExternalAccess="Read/Write">\n<Data Format="Decorated">\n{data}\n</Data>\n</Tag>'
    )


def _array(data_type: str, values: list, radix: str = "Decimal") -> str:
    elements = "".join(f'<Element Index="[{i}]" Value="{v}"/>\n' for i, v in enumerate(values))
    return (
        f'<Array DataType="{data_type}" Dimensions="{len(values)}" Radix="{radix}">\n'
        f"{elements}</Array>"
    )


#: One tag of each shape, in turn: (type, dims, decorated data) for tag number i.
_SHAPES: list[Callable[[int], tuple[str, str, str]]] = [
    lambda i: ("DINT", "", f'<DataValue DataType="DINT" Radix="Decimal" Value="{i}"/>'),
    lambda i: ("REAL", "", f'<DataValue DataType="REAL" Radix="Float" Value="{i}.5"/>'),
    lambda i: ("BOOL", "", f'<DataValue DataType="BOOL" Radix="Decimal" Value="{i % 2}"/>'),
    lambda i: ("INT", "", f'<DataValue DataType="INT" Radix="Decimal" Value="{i % 30000}"/>'),
    lambda i: ("LINT", "", f'<DataValue DataType="LINT" Radix="Decimal" Value="{i * 10**9}"/>'),
    lambda i: ("DINT", "10", _array("DINT", list(range(i, i + 10)))),
    lambda i: ("REAL", "5", _array("REAL", [f"{k}.5" for k in range(5)], "Float")),
    lambda i: ("BOOL", "32", _array("BOOL", [int(k == i % 32) for k in range(32)])),
    lambda i: ("STRING", "", _string("text")),
    lambda i: ("Setpoint", "", _setpoint(i)),
    lambda i: ("Station", "", _station(i)),
    lambda i: ("Motor", "", _motor(i)),
    lambda i: ("Pump", "", _pump(i)),
]  # fmt: skip


def _tags(prefix: str, start: int, count: int) -> Iterator[str]:
    for i in range(start, start + count):
        data_type, dims, data = _SHAPES[i % len(_SHAPES)](i)
        yield _tag(f"{prefix}{i}", data_type, data, dims)


def export(tags: int, programs: int) -> str:
    """A complete controller export holding ``tags`` tags (see the module docstring)."""
    per_program = tags // (2 * programs) if programs else 0
    controller_tags = tags - per_program * programs
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        '<RSLogix5000Content SchemaRevision="1.0" SoftwareRevision="32.00" TargetName="Bench" '
        'TargetType="Controller" ContainsContext="false" ExportOptions="NoRawData DecoratedData">',
        '<Controller Use="Target" Name="Bench" ProcessorType="1756-L83E" MajorRev="32" '
        'MinorRev="0">',
        f"<DataTypes>\n{_UDTS}</DataTypes>",
        f"<AddOnInstructionDefinitions>\n{_AOIS}\n</AddOnInstructionDefinitions>",
        "<Tags>",
        *_tags("Tag", 0, controller_tags),
        "</Tags>",
        "<Programs>",
    ]
    for p in range(programs):
        parts.append(f'<Program Name="Prog{p}" MainRoutineName="Main">\n<Tags>')
        parts.extend(_tags(f"P{p}_", controller_tags + p * per_program, per_program))
        parts.append("</Tags>\n</Program>")
    parts += ["</Programs>", "</Controller>", "</RSLogix5000Content>", ""]
    return "\n".join(parts)


# -- measuring --------------------------------------------------------------------------------


def _verdict(seconds: float) -> str:
    return "goal met" if seconds < GOAL_SECONDS else f"GOAL MISSED (< {GOAL_SECONDS} s)"


def serve(path: Path) -> tuple[subprocess.Popen, int, float]:
    """Start ``python -m cpppo.server.enip --l5x path`` on 127.0.0.1:<free port>."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A", "--l5x", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    if not line:
        process.wait(10)
        raise RuntimeError(f"the simulator did not start (status {process.returncode})")
    return process, int(line.strip().rpartition(":")[2]), time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=10_000, help="tags in the export")
    parser.add_argument("--programs", type=int, default=10, help="programs holding half of them")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--keep", metavar="DIR", help="write the export there and keep it")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "Bench.L5X"
        path.write_text(export(args.tags, args.programs), encoding="utf-8")
        size = path.stat().st_size

        loads = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = load_l5x(path)
            loads.append(time.perf_counter() - started)
        db = result.db
        count = len(db.all_tags())
        print(f"export: {path.name}, {size / 1e6:.1f} MB, {count} tags "
              f"({len(db.tags())} controller scope, {len(db.programs)} programs), "
              f"{len(result.warnings)} warnings")  # fmt: skip
        print(f"load_l5x: {', '.join(f'{s:.2f}' for s in loads)} s; best {min(loads):.2f} s "
              f"({_verdict(min(loads))})")  # fmt: skip

        process, port, startup = serve(path)
        try:
            print(f"simulator: serving on 127.0.0.1:{port} after {startup:.2f} s")
            opens = []
            for _ in range(args.repeat):
                plc = LogixDriver(f"127.0.0.1:{port}/0")
                started = time.perf_counter()
                plc.open()
                opens.append(time.perf_counter() - started)
                listed = len(plc.tags)
                plc.close()
            runs = ", ".join(f"{s:.2f}" for s in opens)
            print(f"pycomm3 LogixDriver.open(): {runs} s; best {min(opens):.2f} s, "
                  f"{listed} tags uploaded ({_verdict(min(opens))})")  # fmt: skip
        finally:
            process.terminate()
            process.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
