"""The poller's faster pymodbus response decoders give what pymodbus's own ones give."""

from __future__ import annotations

import pytest
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu import DecodePDU
from pymodbus.pdu.bit_message import ReadCoilsResponse
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse

from cpppo.remote.pdus import (
    FAST_RESPONSES,
    FastReadCoilsResponse,
    FastReadDiscreteInputsResponse,
    FastReadHoldingRegistersResponse,
    FastReadInputRegistersResponse,
)


def test_registers_decode_like_pymodbus():
    data = bytes.fromhex("06 0001 FFFF 8000")
    ours, theirs = FastReadHoldingRegistersResponse(), ReadHoldingRegistersResponse()
    ours.decode(data)
    theirs.decode(data)
    assert ours.registers == theirs.registers == [1, 0xFFFF, 0x8000]
    full = bytes([250]) + bytes(range(250))
    ours.decode(full)
    theirs.decode(full)
    assert ours.registers == theirs.registers and len(ours.registers) == 125
    assert "3 registers" not in str(ours) and "125 registers" in str(ours)


def test_bits_decode_like_pymodbus():
    data = bytes.fromhex("02 05 81")
    ours, theirs = FastReadCoilsResponse(), ReadCoilsResponse()
    ours.decode(data)
    theirs.decode(data)
    assert (
        ours.bits
        == theirs.bits
        == [True, False, True] + [False] * 5 + [True] + [False] * 6 + [True]
    )
    assert FastReadDiscreteInputsResponse.function_code == 2


@pytest.mark.parametrize(
    "cls, data",
    [
        (FastReadHoldingRegistersResponse, bytes.fromhex("04 0001")),  # short
        (FastReadHoldingRegistersResponse, bytes.fromhex("02 0001 0002")),  # long
        (FastReadInputRegistersResponse, bytes.fromhex("03 000100")),  # odd
        (FastReadCoilsResponse, bytes.fromhex("03 01")),
        (FastReadCoilsResponse, b""),
    ],
)
def test_inconsistent_byte_counts_are_rejected(cls, data):
    with pytest.raises(ModbusIOException):
        cls().decode(data)


def test_registered_decoder_uses_them_for_that_client_only():
    decoder, other = DecodePDU(False), DecodePDU(False)
    for cls in FAST_RESPONSES:
        decoder.register(cls)
    reply = decoder.decode(bytes.fromhex("03 04 0001 0002"))
    assert type(reply) is FastReadHoldingRegistersResponse and reply.registers == [1, 2]
    assert type(other.decode(bytes.fromhex("03 04 0001 0002"))) is ReadHoldingRegistersResponse
    assert decoder.decode(bytes.fromhex("03 05 0001 0002")) is None  # malformed: no PDU
