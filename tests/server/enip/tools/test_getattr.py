"""cpppo.server.enip.getattr: attribute_operations, type conversion, and the spec 2.1.6 proxy
examples (a simple sensor with a named REAL parameter at @0x93/1/10)."""

from __future__ import annotations

import threading

import pytest

from cpppo.server.enip import client
from cpppo.server.enip.client.operations import OperationError
from cpppo.server.enip.codec import types
from cpppo.server.enip.tools.getattr import (
    attribute_operations,
    convert,
    parameter,
    proxy,
    proxy_simple,
)

pytestmark = pytest.mark.timeout(60)


def test_attribute_operations_methods():
    """Instance paths -> Get Attributes All; attribute paths -> Get/Set Attribute Single, with
    integers written as SINT (raw bytes, 0-255 accepted)."""
    ops = list(attribute_operations(["@1/1", "@1/1/7", "@0x93/1/10=(REAL)1.5", "@4/5/3=1,255"]))
    assert [op["method"] for op in ops] == [
        "get_attributes_all",
        "get_attribute_single",
        "set_attribute_single",
        "set_attribute_single",
    ]
    assert ops[3]["tag_type"] == types.SINT.code and ops[3]["data"] == [1, 255]
    with pytest.raises(OperationError, match="all attributes cannot be set"):
        list(attribute_operations(["@1/1=1"]))
    with pytest.raises(OperationError, match="Attribute services"):
        list(attribute_operations(['@{"port":1,"link":0}']))


def test_convert():
    """Raw attribute bytes to typed values: one type repeated, or a list of types in turn."""
    raw = types.INT.encode([1, 14]) + types.DINT.encode([7079450]) + types.SSTRING.encode(["ab"])
    assert convert(raw, ["INT", "INT", "DINT", "SSTRING"]) == [1, 14, 7079450, "ab"]
    assert convert(types.REAL.encode([1.5, 2.5]), "REAL") == [1.5, 2.5]
    assert convert(b"\x01\x00\x00\xc0", "ipaddr") == ["192.0.0.1"]
    assert convert(b"\x02\x00\x20\xf6\x24\x01", ["EPATH"]) == [[{"class": 246}, {"instance": 1}]]
    assert convert(b"\x03\x00abc\x00", ["STRING"]) == ["abc"]
    with pytest.raises(OperationError, match="unknown CIP type"):
        convert(b"\x00", "FLOAT")
    with pytest.raises(ValueError):
        convert(b"\x01", ["INT"])  # not enough data


class some_sensor(proxy_simple):
    """A simple (non-routing) CIP device with one parameter: 'A Sensor Parameter' (spec 2.1.6)."""

    PARAMETERS = dict(
        proxy_simple.PARAMETERS,
        a_sensor_parameter=proxy_simple.parameter("@0x93/1/10", "REAL", "Hz"),
    )


@pytest.fixture
def sensor_device(enip_simulator_factory):
    """A simple device (no routing) with a REAL at Class 0x93, Instance 1, Attribute 10."""
    return enip_simulator_factory(["Param@0x93/1/10=REAL", "SCADA=INT[10]"], route_path=False)


def test_spec_sensor_example(sensor_device):
    """via = some_sensor(host=...); value, = via.read("A Sensor Parameter")"""
    with client.connector(sensor_device.host, sensor_device.port, route_path=[], send_path="") as c:
        assert c.process(client.parse_operations(["Param=(REAL)12.5"]))[0] == 0
    via = some_sensor(host=sensor_device.host, port=sensor_device.port, timeout=5)
    try:
        (value,) = via.read("A Sensor Parameter")
    except Exception as exc:  # the spec's pattern: notify the proxy, it re-opens next time
        via.close_gateway(exc=exc)
        raise
    assert value == [12.5]
    assert some_sensor.parameter is parameter
    (value,) = via.read(" a sensor  parameter ")  # names are normalised
    assert value == [12.5]
    (written,) = via.write("A Sensor Parameter=(REAL)3.25")
    assert written is True
    assert list(via.read("A Sensor Parameter")) == [[3.25]]
    via.close_gateway()


def test_proxy_checking_and_printing(sensor_device, capsys):
    """checking=True raises for a refused attribute; printing shows '<att> == <values> <units>'."""
    via = some_sensor(host=sensor_device.host, port=sensor_device.port, timeout=5)
    assert list(via.read(["A Sensor Parameter"], printing=True)) == [[0.0]]
    assert capsys.readouterr().out == "      @0x93/1/10 == 0.0 Hz\n"
    assert list(via.read([("@0x77/1/1", "INT")])) == [None]
    with pytest.raises(client.ClientError, match="read failed"):
        list(via.read([("@0x77/1/1", "INT")], checking=True))
    with pytest.raises(OperationError):
        list(via.read([("@1/1/7", "NOSUCHTYPE")]))
    with pytest.raises(OperationError, match="no such parameter"):
        list(via.parameter_substitution(["Nope"], pass_thru=False))
    via.close_gateway()


def test_proxy_threads_share_one_gateway(enip_simulator):
    """Several threads reading through one proxy get their own values (reads are serialised)."""
    via = proxy(enip_simulator.host, port=enip_simulator.port, timeout=5, depth=3)
    with client.connector(enip_simulator.host, enip_simulator.port) as c:
        assert c.process(client.parse_operations([f"SCADA[{i}]={i}" for i in range(8)]))[0] == 0
    errors: list = []

    def work(i: int) -> None:
        try:
            for _ in range(20):
                (value,) = via.read([f"SCADA[{i}]"])
                assert value == [i]
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    via.close_gateway()
    assert not errors


def test_identity_default_skips_list_identity(enip_simulator):
    """identity_default supplies the identity without a List Identity request."""
    via = proxy(enip_simulator.host, port=enip_simulator.port, identity_default="Some Product")
    with via:
        assert via.identity == {"product_name": "Some Product"}
        assert str(via).startswith("Some Product at ")
    assert via.list_identity()["product_name"] == "1756-L61/B LOGIX5561"
    via.close_gateway()
    assert via.identity == {"product_name": "Some Product"}
