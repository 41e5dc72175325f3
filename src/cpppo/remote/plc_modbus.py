"""Modbus/TCP and Modbus/RTU poller (docs/modbus.md) on pymodbus 3.16's synchronous clients.

``poller_modbus('fake', host="localhost", port=1502, rate=.5)`` polls addresses of the classic
5/6-digit map (:mod:`cpppo.remote.addresses`) in a background thread, merging them into as few
reads as possible (per table, at most 125 registers / 2000 bits each) and splitting writes into
requests of at most 123 registers / 1968 coils. Pass ``client=rtu_client("/dev/ttyS0", ...)``
for Modbus/RTU, with ``unit=`` the slave's address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadDiscreteInputsRequest,
    WriteMultipleCoilsRequest,
    WriteSingleCoilRequest,
)
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    WriteMultipleRegistersRequest,
    WriteSingleRegisterRequest,
)

from .addresses import (
    COILS,
    DISCRETE_INPUTS,
    HOLDING_REGISTERS,
    INPUT_REGISTERS,
    Table,
    locate,
    merge,
    segment_of,
    shatter,
)
from .pdus import FAST_RESPONSES
from .plc import PlcError, PlcOffline, poller

_READS = {
    COILS: ReadCoilsRequest,
    DISCRETE_INPUTS: ReadDiscreteInputsRequest,
    HOLDING_REGISTERS: ReadHoldingRegistersRequest,
    INPUT_REGISTERS: ReadInputRegistersRequest,
}
_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


def tcp_client(host: str = "localhost", port: int = 502, timeout: float = 1.0) -> ModbusTcpClient:
    """A pymodbus Modbus/TCP client as the poller wants it: no hidden retries."""
    return ModbusTcpClient(host or "localhost", port=port, timeout=timeout, retries=0)


def rtu_client(
    device: str,
    baudrate: int = 19200,
    bytesize: int = 8,
    parity: str = "N",
    stopbits: int = 1,
    timeout: float = 1.0,
) -> ModbusSerialClient:
    """A pymodbus Modbus/RTU client on a serial ``device`` (or pyserial URL), no retries."""
    return ModbusSerialClient(
        device,
        framer=FramerType.RTU,
        baudrate=baudrate,
        bytesize=bytesize,
        parity=parity,
        stopbits=stopbits,
        timeout=timeout,
        retries=0,
    )


class SyncClient(Protocol):
    """What the poller uses of a pymodbus sync client (``ModbusTcpClient``, ``ModbusSerialClient``).

    A client with a ``register`` method also gets the fast response decoders.
    """

    def execute(self, no_response_expected: bool, request: ModbusPDU) -> ModbusPDU:
        """Send ``request``; its response."""
        ...

    def close(self) -> None:
        """Drop the connection; the next request reconnects."""
        ...


@dataclass(eq=False)
class ModbusBlock:
    """One read request: ``count`` values of ``table`` from ``offset``, and who wants them."""

    table: Table
    offset: int
    count: int
    #: Polled addresses served by this read (40001 and 400001 may share an offset).
    addresses: tuple[int, ...]
    #: offset -> addresses at that offset.
    wanted: dict[int, tuple[int, ...]] = field(repr=False)
    request: ModbusPDU = field(repr=False)
    #: Index into the reply's values of each of ``addresses``; None: 0, 1, 2... (dense).
    slots: tuple[int, ...] | None = field(repr=False, default=None)

    def __str__(self) -> str:
        return f"{self.table.name} {self.offset}+{self.count}"


class poller_modbus(poller[ModbusBlock]):
    """Poll a Modbus/TCP (``host``/``port``) or any pymodbus sync ``client``'s PLC.

    ``unit``: the unit id (slave address) of every request (None: 1). ``reach``: how many
    unpolled addresses a read may span to pick up the next polled one. ``multi``: write single
    values with Write Multiple (fc 15/16) too, for PLCs without fc 5/6. ``timeout``: seconds
    to wait for a reply (for the default TCP client).
    """

    def __init__(
        self,
        description: str,
        client: SyncClient | None = None,
        host: str = "localhost",
        port: int = 502,
        rate: float = 1.0,
        unit: int | None = None,
        reach: int = 100,
        multi: bool = False,
        timeout: float = 1.0,
    ) -> None:
        super().__init__(description, rate=rate)
        if unit is not None and not 0 <= unit <= 255:
            raise ValueError(f"unit id {unit} is outside 0-255")
        if reach < 0:
            raise ValueError(f"reach {reach} is negative")
        self.client: SyncClient = client if client is not None else tcp_client(host, port, timeout)
        if hasattr(self.client, "register"):
            for response_class in FAST_RESPONSES:
                self.client.register(response_class)
        self.unit = 1 if unit is None else unit
        self.reach = reach
        self.multi = multi

    # -- reads ------------------------------------------------------------------------------
    def _check_address(self, address: int) -> None:
        segment_of(address)

    def _block(
        self, table: Table, offset: int, count: int, wanted: dict[int, tuple[int, ...]]
    ) -> ModbusBlock:
        request = _READS[table](address=offset, count=count, dev_id=self.unit)
        addresses = tuple(a for off in sorted(wanted) for a in wanted[off])
        slots = tuple(off - offset for off in sorted(wanted) for _ in wanted[off])
        dense = slots == tuple(range(count))
        return ModbusBlock(
            table, offset, count, addresses, wanted, request, None if dense else slots
        )

    def _plan(self, addresses: Sequence[int]) -> list[ModbusBlock]:
        by_table: dict[Table, dict[int, list[int]]] = {}
        for address in addresses:
            table, offset = locate(address)
            by_table.setdefault(table, {}).setdefault(offset, []).append(address)
        plan = []
        for table, offsets in by_table.items():
            ordered = sorted(offsets)
            index = 0
            for first, count in merge(ordered, self.reach, table.max_read):
                wanted = {}
                while index < len(ordered) and ordered[index] < first + count:
                    wanted[ordered[index]] = tuple(offsets[ordered[index]])
                    index += 1
                plan.append(self._block(table, first, count, wanted))
        return plan

    def _split(self, block: ModbusBlock) -> list[ModbusBlock]:
        """Halve a refused read at its widest gap (or its middle); [] for a single offset."""
        offsets = sorted(block.wanted)
        if len(offsets) < 2:
            return []
        gaps = [(offsets[i + 1] - offsets[i], i) for i in range(len(offsets) - 1)]
        widest, at = max(gaps)
        cut = at + 1 if widest > 1 else len(offsets) // 2
        pieces = []
        for part in (offsets[:cut], offsets[cut:]):
            wanted = {off: block.wanted[off] for off in part}
            pieces.append(self._block(block.table, part[0], part[-1] - part[0] + 1, wanted))
        return pieces

    def _execute(self, request: ModbusPDU) -> ModbusPDU:
        """Send one request; PlcOffline when the PLC cannot be reached, PlcError on refusal."""
        try:
            response = self.client.execute(False, request)
        except (ModbusException, OSError) as exc:
            raise PlcOffline(f"{self.description}: {exc}") from exc
        if response is None:
            raise PlcOffline(f"{self.description}: no reply")
        if response.function_code & 0x7F != request.function_code:
            raise PlcOffline(
                f"{self.description}: reply function {response.function_code} to request "
                f"function {request.function_code}"
            )
        if response.isError():
            code = getattr(response, "exception_code", 0)
            reason = _EXCEPTIONS.get(code, "exception")
            raise PlcError(f"{self.description}: {reason} (exception code {code})")
        return response

    def _read_block(self, block: ModbusBlock) -> Iterable[tuple[int, Any]]:
        try:
            response = self._execute(block.request)
        except PlcOffline:
            # One fresh attempt (reads are idempotent) before calling the PLC offline.
            self._disconnect()
            response = self._execute(block.request)
        values = response.bits if block.table.bits else response.registers
        if len(values) < block.count:
            raise PlcOffline(f"{self.description}: {len(values)} values for {block}")
        if block.slots is None:
            return zip(block.addresses, values)
        return zip(block.addresses, map(values.__getitem__, block.slots))

    # -- writes -----------------------------------------------------------------------------
    def _check_write(self, address: int, values: list[Any]) -> list[Any]:
        segment = segment_of(address)
        table = segment.table
        if not table.writable:
            raise ValueError(f"{address} is in the read-only {table.name} table")
        last = address + len(values) - 1
        if last not in segment:
            raise ValueError(
                f"writing {len(values)} values from {address} leaves the {table.name} range "
                f"{segment.first}-{segment.last}"
            )
        return [table.check_value(value) for value in values]

    def _write(self, address: int, values: list[Any]) -> None:
        table, offset = locate(address)
        if len(values) == 1 and not self.multi:
            if table.bits:
                request: ModbusPDU = WriteSingleCoilRequest(
                    address=offset, bits=[bool(values[0])], dev_id=self.unit
                )
            else:
                request = WriteSingleRegisterRequest(
                    address=offset, registers=[values[0]], dev_id=self.unit
                )
            self._execute_write(request)
            return
        for start, chunk in shatter(offset, values, table.max_write):
            if table.bits:
                bits = [bool(bit) for bit in chunk]
                request = WriteMultipleCoilsRequest(address=start, bits=bits, dev_id=self.unit)
            else:
                request = WriteMultipleRegistersRequest(
                    address=start, registers=chunk, dev_id=self.unit
                )
            self._execute_write(request)

    def _execute_write(self, request: ModbusPDU) -> None:
        try:
            self._execute(request)
        except PlcOffline:
            self._disconnect()
            raise

    def _disconnect(self) -> None:
        self.client.close()
