"""Tests of enip_format (cpppo.server.enip.codec.format)."""

import json

from cpppo.server.enip.codec import cpf, encap
from cpppo.server.enip.codec.format import enip_format, flatten

IDENTITY = cpf.IdentityItem(
    sin_addr="127.0.0.1",
    vendor_id=1,
    device_type=14,
    product_code=54,
    product_revision=2836,
    status_word=12640,
    serial_number=7079450,
    product_name="1756-L61/B LOGIX5561",
)


def test_identity_item_as_the_spec_lists_it():
    text = enip_format(IDENTITY)
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert '    "sin_addr": "127.0.0.1",' in lines
    assert '    "product_name": "1756-L61/B LOGIX5561",' in lines
    assert '    "product_revision": 2836,' in lines
    assert '    "state": 255' in lines
    # it is JSON, so the client's output can be parsed back
    assert json.loads(text)["serial_number"] == 7079450


def test_nested_message_flattens_to_dotted_keys():
    msg = {
        "peer": ("127.0.0.1", 44818),
        "enip": {
            "command": encap.Command.LIST_IDENTITY,
            "options": 0,
            "CIP": {
                "list_identity": {
                    "CPF": {"count": 1, "item": [{"type_id": 12, "identity_object": IDENTITY}]}
                }
            },
            "input": b"\x01\x00",
        },
    }
    pairs = dict(flatten(msg))
    assert pairs["enip.CIP.list_identity.CPF.item[0].identity_object.sin_port"] == 44818
    assert pairs["enip.CIP.list_identity.CPF.item[0].type_id"] == 12
    text = enip_format(msg, sort_keys=True)
    assert '    "enip.command": 99,' in text.splitlines()
    assert '    "enip.input": "b\'\\\\x01\\\\x00\'",' in text.splitlines()
    assert '    "peer": ["127.0.0.1", 44818]' in text.splitlines()
    keys = [json.loads(line.split(": ", 1)[0]) for line in text.splitlines()[1:-1]]
    assert keys == sorted(keys)


def test_header_and_scalars():
    header = encap.decode_header(encap.encode_encap(0x65, b"\x01\x00\x00\x00", session=7))
    text = enip_format(header, indent=2)
    assert '  "command": 101,' in text.splitlines() and '  "session": 7,' in text.splitlines()
    assert enip_format(5) == "5"
    assert enip_format({}) == "{}"
    assert enip_format([1, 2]) == "[1, 2]"
    assert "object" in enip_format({"x": object()})
