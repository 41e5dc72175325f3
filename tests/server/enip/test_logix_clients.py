"""pycomm3 1.2.16 and pylogix 1.1.6, default settings, against the simulator serving
``pycomm3.L5X`` (a real Studio 5000 export: atomics, arrays, BOOL arrays, STRING, STRING20,
STRING480, TIMER, CONTROL, UDTs with BOOL members, nested UDTs, an add-on instruction, a
program scope), with Identity revision 20 (symbolic paths) and 32 (pycomm3 then addresses
tags by symbol instance id). The sessions, recorded through a proxy, must decode in tshark
without malformed packets or expert errors.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pycomm3
import pylogix
import pytest

from cpppo.server.enip.importers.l5x import load_l5x
from cpppo.server.enip.main import DEMO_TAGS, build_controller
from cpppo.server.enip.net.server import ServerThread
from cpppo.server.enip.sim.controller import Controller

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def l5x(shared_data):
    return shared_data / "pycomm3.L5X"


@pytest.fixture(scope="module")
def exported(l5x):
    """The export's tags, as loaded (the values a client must read): qualified name -> Tag."""
    return {tag.qualified_name: tag for tag in load_l5x(l5x).db.all_tags()}


@pytest.fixture(scope="module", params=[20, 32], ids=["rev20", "rev32"])
def simulator(request, l5x):
    """A simulator loaded with pycomm3.L5X, Identity revision 20.11 or 32.11."""
    controller = Controller(
        identity={"product revision": request.param | 11 << 8}, tags=load_l5x(l5x).db
    )
    with ServerThread(controller, ("127.0.0.1", 0)) as server:
        yield SimpleNamespace(controller=controller, port=server.address[1], rev=request.param)


def _path(tag) -> str:
    """pycomm3's name for all of a tag: ``Name{n}`` for an array (n BOOLs for a BOOL array)."""
    name = tag.qualified_name
    return f"{name}{{{tag.elements}}}" if tag.dims else name


def _driver(port: int):
    return pycomm3.LogixDriver(f"127.0.0.1:{port}/0")


def test_pycomm3_opens_lists_reads_writes_and_reads_again(simulator, exported):
    with _driver(simulator.port) as plc:
        assert plc.info["name"] == "pycomm3_demo"
        assert plc.info["revision"]["major"] == simulator.rev
        assert plc._cfg["use_instance_ids"] is (simulator.rev >= 21)
        listed = {t["tag_name"]: t for t in plc.get_tag_list(program="*")}
        assert set(listed) == set(exported)
        for name, tag in exported.items():
            info = listed[name]
            if tag.bools is not None:  # a BOOL array lists as the DWORDs holding it
                assert (info["data_type_name"], info["dimensions"]) == ("DWORD", [3, 0, 0])
                continue
            assert info["data_type_name"] == tag.data_type.name, name
            assert info["dimensions"] == [*tag.dims, 0, 0, 0][:3], name
        paths = [_path(tag) for tag in exported.values()]
        first = [plc.read(path) for path in paths]
        for path, tag, result in zip(paths, exported.values(), first):
            assert (result.error, result.value) == (None, tag.value), path
        # write every value back (Multiple Service Packets), then read all again at once
        written = plc.write(*[(path, result.value) for path, result in zip(paths, first)])
        assert [w.error for w in written] == [None] * len(paths)
        again = plc.read(*paths)
        assert [(r.error, r.value) for r in again] == [(None, r.value) for r in first]
    assert simulator.controller.tags["read_udt1"].value == exported["read_udt1"].value


def test_pycomm3_members_bits_bool_arrays_and_strings(simulator, exported):
    tags = simulator.controller.tags
    with _driver(simulator.port) as plc:
        assert plc.read("read_dint_ary1[3]").value == 300
        assert plc.read("read_dint_2d_ary1[1,2]").value == 700
        assert plc.read("read_nested_udt1.udt1.dint").value == 10
        nested = exported["read_nested_udt1"].value
        assert plc.read("read_nested_udt1.udt_ary1[2].real").value == nested["udt_ary1"][2]["real"]
        assert plc.read("read_nested_udt1.udt_ary4[2].bb17").value is True
        assert plc.read("read_nested_udt1.udt2.reals{2}").value == nested["udt2"]["reals"][:2]
        assert plc.read("read_timer1.DN").value is True
        assert plc.read("read_bool_ary1[6]").value is True
        assert plc.read("read_dint_max.31").value is False and plc.read("read_dint_max.5").value
        assert plc.read("Program:pycomm3.read_prog_udt1.sint").value == -1
        try:
            # a bit of an integer and a BOOL-array element: Read-Modify-Write
            results = plc.write(("write_dint1.3", True), ("write_bool_ary1[33]", True))
            assert [r.error for r in results] == [None, None]
            assert tags["write_dint1"].value == 8
            assert tags["write_bool_ary1"].value[33] is True
            # a UDT member, a BOOL member, a whole UDT, strings of three lengths
            assert plc.write(("write_udt1.real", 2.5)).error is None
            assert plc.write(("write_udt3.bool2", True)).error is None
            udt = dict(exported["write_udt4"].value, b7=True)
            assert plc.write(("write_udt4", udt)).error is None
            strings = (
                ("write_str1", "hello"),
                ("write_str20_1", "x" * 20),
                ("write_str480_1", "y" * 480),
            )
            assert [r.error for r in plc.write(*strings)] == [None] * 3
            assert tags["write_udt1"].value["real"] == 2.5 and tags["write_udt3"].value["bool2"]
            assert tags["write_udt4"].value == udt
            assert [tags[n].value for n, _ in strings] == [v for _, v in strings]
            assert plc.read("write_str480_1").value == "y" * 480
        finally:  # leave the export's values for the other tests
            for name in (
                "write_dint1",
                "write_bool_ary1",
                "write_udt1",
                "write_udt3",
                "write_udt4",
            ):
                tags[name].value = exported[name].value
            for name in ("write_str1", "write_str20_1", "write_str480_1"):
                tags[name].value = exported[name].value


def test_pylogix_tag_list_members_strings_and_lists(simulator, exported):
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        comm.SocketTimeout = 5.0
        listing = comm.GetTagList(allTags=True)
        assert listing.Status == "Success"
        names = {t.TagName: t for t in listing.Value}
        assert set(exported) | {"Program:pycomm3"} == set(names)
        assert names["read_udt1"].DataType == "pycomm3_AtomicUDT" and names["read_udt1"].Struct
        assert names["read_dint_2d_ary1"].DataType == "DINT"
        assert names["Program:pycomm3.read_prog_str1"].DataType == "ASCIISTRING82"
        udts = {u.Name for u in comm.UDT.values()}  # from the Template objects
        assert {"pycomm3_AtomicUDT", "pycomm3_NestedUDT", "pycomm3_AOI"} <= udts
        assert comm.Read("read_udt1.dint").Value == 10
        assert comm.Read("read_nested_udt1.udt1.int").Value == 1
        assert comm.Read("read_str1").Value == "A normal built-in string type"
        assert comm.Read("Program:pycomm3.read_prog_str3").Value == exported["read_str3"].value
        # pylogix decodes only the STRING handle as text; another string type comes raw
        raw = comm.Read("read_str20_1").Value
        assert raw[:4] == (16).to_bytes(4, "little") and raw[4:20] == b"A shorter string"
        values = comm.Read(
            [
                "read_dint2",
                "read_real_ary1[3]",
                "read_udt1.real",
                "read_bool_ary1[6]",
                "read_int_min",
            ]
        )
        assert [v.Status for v in values] == ["Success"] * 5
        assert [v.Value for v in values] == [
            100,
            exported["read_real_ary1"].value[3],
            exported["read_udt1"].value["real"],
            True,
            -32768,
        ]


def test_client_sessions_decode_in_tshark(simulator, enip_recording_proxy, enip_tshark, tmp_path):
    proxy = enip_recording_proxy(("127.0.0.1", simulator.port))
    with pycomm3.LogixDriver(f"127.0.0.1:{proxy.address[1]}/0") as plc:
        plc.read("read_udt1", "read_str1", "read_bool_ary1{96}", "Program:pycomm3.read_prog_int1")
        plc.write(("write_dint2", 100), ("write_real2", 100.0))
        plc.write(("write_dint1.1", False))
        plc.read("read_dint1")
    with pylogix.PLC("127.0.0.1", port=proxy.address[1]) as comm:
        assert comm.GetTagList(allTags=True).Status == "Success"
        comm.Read(["read_udt1.dint", "read_str1", "read_timer1.PRE"])
    time.sleep(0.2)
    proxy.close()
    pcap = tmp_path / "clients.pcap"
    assert proxy.write_pcap(str(pcap)) > 50
    malformed, errors, summary = enip_tshark(str(pcap), simulator.port)
    assert malformed == [] and errors == []
    assert "Multiple Service Packet" in summary and "Forward Open" in summary
    assert "Class (0x6b) - Service (0x55)" in summary  # symbol lists
    assert (
        "Class (0x6c) - Get Attribute List" in summary
        and "Class (0x6c) - Service (0x4c)" in summary
    )
    # from revision 21 on, pycomm3 reads controller tags by symbol instance id
    assert ("Class (0x6b) - Service (0x4c)" in summary) is (simulator.rev >= 21)


def test_pycomm3_with_the_command_line_types_of_the_demo_set():
    """The demo tags: SSTRING and CIP STRING arrays, a byte-per-BOOL array, a Logix STRING."""
    controller = build_controller([*DEMO_TAGS, "CS=CIP_STRING[2]"])
    with ServerThread(controller, ("127.0.0.1", 0)) as server, _driver(server.address[1]) as plc:
        listed = {t["tag_name"]: (t["data_type_name"], t["dimensions"]) for t in plc.get_tag_list()}
        assert listed["TEXT"] == ("SHORT_STRING", [100, 0, 0])
        assert listed["BOOLS"] == ("BOOL", [32, 0, 0]) and listed["NAME"] == ("STRING", [0, 0, 0])
        written = plc.write(("TEXT[1]", "hi"), ("BOOLS[2]", True), ("NAME", "x"), ("CS[1]", "c"))
        assert [w.error for w in written] == [None] * 4
        values = [r.value for r in plc.read("TEXT{2}", "BOOLS{4}", "NAME", "CS{2}")]
        assert values == [["", "hi"], [False, False, True, False], "x", ["", "c"]]
    assert controller.tags["BOOLS"].attribute[2] is True
