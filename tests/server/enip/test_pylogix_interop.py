"""pylogix 1.1.6 against the simulator with default settings, over loopback.

Covers Read/Write of every atomic type, arrays, list reads/writes (Multiple Service Packet), a
large array read continued with Read Tag Fragmented after 0x06, bit and BOOL-array writes
(Read-Modify-Write), GetDeviceProperties, and an unknown tag (the session stays usable). The
simulator serves the suite's default tags (``SIMULATOR_TAGS`` in conftest). The same session,
recorded through a proxy, must decode in tshark without malformed packets or expert errors.
"""

from __future__ import annotations

import time

import pylogix
import pytest


@pytest.fixture
def plc(enip_simulator):
    simulator = enip_simulator
    with pylogix.PLC("127.0.0.1", port=simulator.port) as comm:
        comm.SocketTimeout = 5.0
        yield comm, simulator


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("B[3]", True),
        ("S[1]", -128),
        ("I", -32768),
        ("D[2]", -(2**31)),
        ("L[1]", 2**62 + 7),
        ("US", 255),
        ("UI", 65535),
        ("UD", 2**32 - 1),
        ("R[4]", 1.5),
        ("LR", -1e300),
        ("STR[1]", "Hello, world!"),
    ],
)
def test_read_write_each_atomic_type(plc, tag, value):
    comm, simulator = plc
    assert comm.Write(tag, value).Status == "Success"
    reply = comm.Read(tag)
    assert (reply.Status, reply.Value) == ("Success", value)
    base = tag.split("[")[0]
    index = int(tag.split("[")[1][:-1]) if "[" in tag else 0
    assert simulator.controller.tags[base].attribute[index] == value


def test_arrays_lists_and_large_reads(plc):
    comm, simulator = plc
    assert comm.Write("D[2]", [1, 2, 3]).Status == "Success"
    assert comm.Read("D[0]", 6).Value == [0, 0, 1, 2, 3, 0]
    # list reads and writes go in a Multiple Service Packet
    written = comm.Write([("I", 11), ("R[1]", 2.25), ("STR[2]", "x")])
    assert [w.Status for w in written] == ["Success"] * 3
    values = comm.Read(["I", "R[1]", "STR[2]", "D[4]"])
    assert [(v.Value, v.Status) for v in values] == [
        (11, "Success"),
        (2.25, "Success"),
        ("x", "Success"),
        (3, "Success"),
    ]
    # 20,000 bytes: Read Tag answers 0x06 with what fits, Read Tag Fragmented brings the rest
    simulator.controller.tags["BIG"].attribute[0:5000] = list(range(5000))
    assert comm.Read("BIG[0]", 5000).Value == list(range(5000))
    assert comm.Write("BIG[0]", list(range(5000, 0, -1))).Status == "Success"
    assert simulator.controller.tags["BIG"].attribute[0:5000] == list(range(5000, 0, -1))


def test_bits_strings_and_errors(plc):
    comm, _ = plc
    assert comm.Write("D.5", True).Status == "Success"
    assert comm.Read("D.5").Value is True and comm.Read("D[0]").Value == 32
    assert comm.Write("D.5", False).Status == "Success"
    assert comm.Read("D[0]").Value == 0
    assert comm.Write("TEXT[1]", "short").Status == "Success"
    assert comm.Read("TEXT[0]", 3).Value == ["", "short", ""]
    missing = comm.Read("NOPE")
    assert (missing.Value, missing.Status) == (None, "Path segment error")
    assert comm.Read("I").Status == "Success"  # the session stays open
    beyond = comm.Read("D[10]")
    assert beyond.Status != "Success"


def test_get_device_properties(plc):
    comm, _ = plc
    device = comm.GetDeviceProperties().Value
    assert (device.ProductName, device.Vendor, device.Revision, device.ProductCode) == (
        "1756-L61/B LOGIX5561",
        "Rockwell Automation/Allen-Bradley",
        "20.11",
        54,
    )
    assert device.SerialNumber == "0x6c061a"


def test_pylogix_session_captures_decode_in_tshark(
    enip_simulator, enip_recording_proxy, enip_tshark, tmp_path
):
    simulator = enip_simulator
    proxy = enip_recording_proxy(simulator.address)
    with pylogix.PLC("127.0.0.1", port=proxy.address[1]) as comm:
        assert comm.Write("D[1]", 5).Status == "Success"
        comm.Read(["D[1]", "R[0]", "STR[0]", "TEXT[0]"])
        comm.Write([("I", 3), ("LR", 2.5)])
        assert len(comm.Read("BIG[0]", 5000).Value) == 5000
        comm.Write("BIG[0]", [7] * 3000)
        comm.Write("STR[0]", "hello")
        comm.Write("D.3", True)
        comm.Read("NOPE")
        comm.GetDeviceProperties()
    time.sleep(0.2)
    proxy.close()
    pcap = tmp_path / "pylogix.pcap"
    assert proxy.write_pcap(str(pcap)) > 50
    malformed, errors, summary = enip_tshark(str(pcap), simulator.port)
    assert malformed == [] and errors == []
    for expected in ("Register Session", "Forward Open", "Multiple Service Packet",
                     "Partial transfer", "Forward Close", "Get Attributes All"):  # fmt: skip
        assert expected in summary
