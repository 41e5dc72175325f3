"""The standard CIP objects of the simulated controller, driven with encoded requests (no I/O)."""

from __future__ import annotations

import pytest

from cpppo.server.enip.codec import cip, epath
from cpppo.server.enip.codec.identity import decode_identity_attributes
from cpppo.server.enip.codec.objects import INTERFACE_CONFIGURATION, PADDED_STRING, PATH
from cpppo.server.enip.sim.controller import Controller
from cpppo.server.enip.sim.device import IDENTITY_DEFAULTS, TCPIP, TCPIP_DEFAULTS, Context, Identity

#: Spec 2.1.5: Get Attributes All of Identity 1/1 on the simulated 1756-L61.
SPEC_IDENTITY_GAA = (
    bytes([1, 0, 14, 0, 54, 0, 20, 11, 96, 49, 26, 6, 108, 0, 20])
    + b"1756-L61/B LOGIX5561"
    + bytes([255, 0, 0, 0])
)
#: Spec 2.1.5: Get Attribute Single of Identity 1/1/7.
SPEC_PRODUCT_NAME = bytes([20]) + b"1756-L61/B LOGIX5561"


def call(controller: Controller, service: int, path: list[dict], data: bytes = b"") -> cip.Reply:
    reply = controller.request(
        cip.encode_request(service, epath.encode_epath(path), data), Context()
    )
    decoded = cip.decode_reply(reply)
    assert decoded.service == service
    return decoded


def test_identity_get_attributes_all_is_the_spec_bytes():
    reply = call(Controller(), 0x01, [{"class": 1}, {"instance": 1}])
    assert reply.status == 0
    assert bytes(reply.data) == SPEC_IDENTITY_GAA
    decoded = decode_identity_attributes(reply.data)
    assert tuple(decoded)[:8] == (1, 14, 54, 2836, 12640, 7079450, "1756-L61/B LOGIX5561", 255)


def test_identity_product_name_single_and_configured_values():
    assert bytes(
        call(Controller(), 0x0E, [{"class": 1}, {"instance": 1}, {"attribute": 7}]).data
    ) == (SPEC_PRODUCT_NAME)
    controller = Controller(identity={"product name": "1756-L61/C LOGIX5561", "device type": 15})
    reply = call(controller, 0x01, [{"class": 1}, {"instance": 1}])
    assert tuple(decode_identity_attributes(reply.data))[:8] == (
        1, 15, 54, 2836, 12640, 7079450, "1756-L61/C LOGIX5561", 255,
    )  # fmt: skip


def test_get_attribute_list_and_errors():
    controller = Controller()
    data = cip.encode_attribute_ids([1, 3, 99])
    reply = call(controller, 0x03, [{"class": 1}, {"instance": 1}], data)
    assert reply.status == cip.Status.ATTRIBUTE_LIST_ERROR
    results = cip.decode_attribute_list_reply(reply.data, {1: 2, 3: 2})
    assert [(r.id, r.status, bytes(r.value)) for r in results] == [
        (1, 0, b"\x01\x00"),
        (3, 0, b"\x36\x00"),
        (99, 0x14, b""),
    ]
    # A truncated id list is not enough data; an unknown attribute is not supported.
    assert call(controller, 0x03, [{"class": 1}, {"instance": 1}], b"\x02\x00\x01").status == 0x13
    assert call(controller, 0x0E, [{"class": 1}, {"instance": 1}, {"attribute": 42}]).status == 0x14


def test_unknown_objects_services_and_paths():
    controller = Controller()
    assert call(controller, 0x01, [{"class": 0x99}, {"instance": 1}]).status == 0x05
    assert call(controller, 0x01, [{"class": 1}, {"instance": 9}]).status == 0x05
    assert call(controller, 0x33, [{"class": 1}, {"instance": 1}]).status == 0x08
    assert call(controller, 0x01, [{"class": 1}]).status == 0x04
    # Identity attributes are read-only.
    reply = call(controller, 0x10, [{"class": 1}, {"instance": 1}, {"attribute": 7}], b"\x01A")
    assert reply.status == 0x0E


def test_class_objects_count_instances():
    controller = Controller()
    reply = call(controller, 0x01, [{"class": 1}, {"instance": 0}])
    assert bytes(reply.data) == b"\x01\x00\x01\x00\x01\x00"  # revision 1, max 1, count 1
    reply = call(controller, 0x0E, [{"class": 0xF5}, {"instance": 0}, {"attribute": 1}])
    assert bytes(reply.data) == b"\x03\x00"  # TCP/IP object revision 3


def test_tcpip_object_from_config_values():
    values = {
        "interface configuration": {
            "ip_address": "192.168.0.201",
            "network_mask": "255.255.255.0",
            "dns_primary": "8.8.8.8",
            "dns_secondary": "8.8.4.4",
            "domain_name": "example.com",
        },
        "host name": "controller",
    }
    controller = Controller(tcpip=values)
    path = [{"class": 0xF5}, {"instance": 1}]
    data = bytes(call(controller, 0x01, path).data)
    # attributes 1-3 (DWORD each), 4 (path), 5 (configuration), 6 (host name)
    assert data[:12] == bytes.fromhex("020000003000000000000000")
    link, pos = PATH.decode_from(data, 12)
    assert link == [{"class": 0xF6}, {"instance": 1}]
    config, pos = INTERFACE_CONFIGURATION.decode_from(data, pos)
    assert config == {
        "ip_address": "192.168.0.201",
        "network_mask": "255.255.255.0",
        "gateway_address": "0.0.0.0",
        "dns_primary": "8.8.8.8",
        "dns_secondary": "8.8.4.4",
        "domain_name": "example.com",
    }
    # the IP address is a little-endian UDINT: 192.168.0.201 -> c9 00 a8 c0
    assert data[12 + 6 : 12 + 10] == bytes([0xC9, 0x00, 0xA8, 0xC0])
    host, pos = PADDED_STRING.decode_from(data, pos)
    assert host == "controller" and pos == len(data)


def test_set_attribute_single_on_tcpip_host_name():
    controller = Controller()
    path = [{"class": 0xF5}, {"instance": 1}, {"attribute": 6}]
    new = PADDED_STRING.encode(["plc-7"])
    assert new == b"\x05\x00plc-7\x00"
    assert call(controller, 0x10, path, new).status == 0
    assert bytes(call(controller, 0x0E, path).data) == new
    assert call(controller, 0x10, path, new + b"xx").status == 0x15
    assert call(controller, 0x10, path, b"\x09\x00ab").status == 0x13
    status_path = [{"class": 0xF5}, {"instance": 1}, {"attribute": 1}]
    assert call(controller, 0x10, status_path, b"\x00\x00\x00\x00").status == 0x0E


def test_ethernet_link_and_message_router_objects():
    controller = Controller()
    data = bytes(call(controller, 0x01, [{"class": 0xF6}, {"instance": 1}]).data)
    assert data[:8] == bytes.fromhex("640000000f000000") and len(data) == 14
    objects = bytes(call(controller, 0x0E, [{"class": 2}, {"instance": 1}, {"attribute": 1}]).data)
    count = int.from_bytes(objects[:2], "little")
    classes = [int.from_bytes(objects[i : i + 2], "little") for i in range(2, len(objects), 2)]
    assert count == len(classes) and {1, 2, 6, 0xF5, 0xF6} <= set(classes)


def test_connection_manager_counters_are_readable():
    controller = Controller()
    reply = call(controller, 0x01, [{"class": 6}, {"instance": 1}])
    assert reply.status == 0 and bytes(reply.data) == bytes(16)


def test_identity_value_lookup():
    identity = Identity(values={"serial number": 0x1234})
    assert identity.value("serial number") == 0x1234
    with pytest.raises(KeyError):
        identity.value("no such thing")


def test_defaults_are_read_only_and_each_object_has_its_own_copy():
    """IDENTITY_DEFAULTS and TCPIP_DEFAULTS (nested values too) cannot be changed at run time;
    a TCP/IP object's path and interface configuration are its own."""
    with pytest.raises(TypeError):
        IDENTITY_DEFAULTS["product name"] = "changed"
    with pytest.raises(TypeError):
        TCPIP_DEFAULTS["interface configuration"]["domain_name"] = "changed"
    with pytest.raises(TypeError):
        TCPIP_DEFAULTS["path to physical link"][0]["class"] = 1
    first, second = TCPIP(), TCPIP(values={"path to physical link": [{"class": 0xF6}]})
    assert PATH.decode(first.value_bytes(4)) == [[{"class": 0xF6}, {"instance": 1}]]
    assert PATH.decode(second.value_bytes(4)) == [[{"class": 0xF6}]]
    assert (
        Identity().identity_attributes()[:8]
        == tuple(decode_identity_attributes(SPEC_IDENTITY_GAA))[:8]
    )
