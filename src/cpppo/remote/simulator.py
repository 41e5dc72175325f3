"""A simulated Modbus/TCP or Modbus/RTU device on pymodbus 3.16 (``SimData``/``SimDevice``).

:class:`ModbusSimulator` serves register definitions (see :mod:`cpppo.remote.addresses`) to any
number of clients, over TCP or a serial line (one or several unit ids: multi-drop RS-485), with
optional fault injection (:mod:`cpppo.remote.faults`). It runs in a background thread with its
own event loop (``start``/``stop``), or inside a running loop (``start_async``/``stop_async``).

What we add over pymodbus's own request handler: requests of one connection are served in
order (even while a reply is delayed), several requests in one TCP segment are all served, a
Modbus/RTU frame is found again after line noise (CRC-checked hunting), a unit id that is not
simulated gets no reply on a serial line (as on a real multi-drop bus), bit tables reject
addresses that were never defined (just as register tables do), and a TCP stream whose MBAP
length cannot be framed is closed.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import struct
import threading
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, TypeVar

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerBase, FramerRTU, FramerSocket, FramerType
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

from ..misc import DETAIL
from .addresses import (
    COILS,
    DISCRETE_INPUTS,
    HOLDING_REGISTERS,
    INPUT_REGISTERS,
    RegisterSpec,
    SerialOptions,
    Table,
    Value,
    address_of,
    locate,
    register_definitions,
    runs,
)
from .faults import Fault, FaultInjector

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Function codes that change the store (logged at DETAIL).
_WRITES = {5: COILS, 6: HOLDING_REGISTERS, 15: COILS, 16: HOLDING_REGISTERS}
#: Function codes that address a bit table, and the table.
_BIT_FCS = {1: COILS, 2: DISCRETE_INPUTS, 5: COILS, 15: COILS}
_FC_OF = {COILS: 1, DISCRETE_INPUTS: 2, HOLDING_REGISTERS: 3, INPUT_REGISTERS: 4}
_MBAP = struct.Struct(">HHHB")
_WORDS = tuple(struct.Struct(f">{n}H") for n in range(126))
#: More unframed bytes than any request could hold: noise, thrown away.
_MAX_BUFFER = 1024
#: Requests of one connection awaiting their reply before we stop reading from it.
_MAX_PENDING = 64
#: Bytes held unframed while not reading (a transport that cannot pause keeps sending).
_MAX_BACKLOG_BYTES = 1 << 20

Definitions = dict[Table, dict[int, Value]]


def build_device(definitions: Definitions, unit: int = 0) -> SimDevice:
    """A pymodbus ``SimDevice`` (4 separate tables) holding ``definitions``; unit 0 answers all.

    Undefined registers answer ILLEGAL ADDRESS. pymodbus needs every table non-empty, so an
    empty table gets one placeholder that the simulator's handler never lets a request reach.
    """

    def table(which: Table) -> list[SimData]:
        kind = DataType.BITS if which.bits else DataType.REGISTERS
        blocks = [
            SimData(
                start, values=[bool(v) for v in values] if which.bits else values, datatype=kind
            )
            for start, values in runs(definitions.get(which, {}))
        ]
        if blocks:
            return blocks
        if which.bits:
            return [SimData(0, values=[False], datatype=DataType.BITS)]
        return [SimData(0, datatype=DataType.INVALID)]

    return SimDevice(
        id=unit,
        simdata=(
            table(COILS),
            table(DISCRETE_INPUTS),
            table(HOLDING_REGISTERS),
            table(INPUT_REGISTERS),
        ),
    )


class _Runs:
    """Defined offsets of one table as sorted runs: O(runs) memory, O(log runs) lookups."""

    def __init__(self, store: dict[int, Value]) -> None:
        self.firsts: list[int] = []
        self.lasts: list[int] = []
        for start, values in runs(store):
            self.firsts.append(start)
            self.lasts.append(start + len(values) - 1)

    def covers(self, offset: int, count: int) -> bool:
        index = bisect.bisect_right(self.firsts, offset) - 1
        return index >= 0 and offset + count - 1 <= self.lasts[index]


class _Unframeable(Exception):
    """The stream cannot be split into frames any more."""


class _SocketFramer(FramerSocket):
    """MBAP framing that skips frames with a foreign protocol id and refuses absurd lengths."""

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        if len(data) < 8:
            return 0, 0, 0, self.EMPTY
        tid, protocol, length, unit = _MBAP.unpack_from(data)
        if not 2 <= length <= 254:
            raise _Unframeable(f"MBAP length {length} is outside 2-254")
        size = 6 + length
        if len(data) < size:
            return 0, 0, 0, self.EMPTY
        if protocol:
            log.info("Ignoring a frame with Modbus protocol id %d", protocol)
            return size, unit, tid, self.EMPTY
        return size, unit, tid, data[7:size]


class _RtuFramer(FramerRTU):
    """RTU framing that hunts for the first CRC-valid frame, discarding noise before it."""

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        length = len(data)
        pending = None
        for start in range(length - self.MIN_SIZE + 1):
            if not (pdu_class := self.decoder.lookupPduClass(data[start:])):
                continue
            try:
                size = pdu_class.calculateRtuFrameSize(data[start:])
            except Exception:  # a class that cannot size itself: not a frame start
                continue
            if not size or start + size > length:
                pending = start if pending is None else pending
                continue
            crc = int.from_bytes(data[start + size - 2 : start + size], "big")
            if self.check_CRC(data[start : start + size - 2], crc):
                if start:
                    log.info("Discarded %d bytes of line noise: %s", start, data[:start].hex())
                return start + size, data[start], 0, data[start + 1 : start + size - 2]
        # No complete frame: drop what cannot begin one, keep the rest for more data.
        keep_from = pending if pending is not None else max(length - self.MIN_SIZE + 1, 0)
        return keep_from, 0, 0, self.EMPTY


class _Handler(ServerRequestHandler):
    """One client connection (TCP) or the serial line: decode, serve in order, reply."""

    #: pymodbus declares the base class; TCP and serial connections are both stream transports.
    transport: asyncio.Transport

    def __init__(self, owner: _SimServer) -> None:
        super().__init__(owner, None, None, None)
        self.sim: ModbusSimulator = owner.simulator
        self.order = asyncio.Lock()
        self.pending = 0
        self.paused = False

    def callback_data(self, data: bytes, addr: tuple | None = None) -> int:
        used = 0
        while used < len(data) and self.pending < _MAX_PENDING:
            try:
                size, unit, tid, body = self.framer.decode(data[used:])
            except _Unframeable as exc:
                log.warning("Closing connection: %s", exc)
                if self.transport:
                    self.transport.close()
                return len(data)
            if not size:
                break
            used += size
            if body:
                self.sim.requests += 1
                self.pending += 1
                self.sim.backlog_peak = max(self.sim.backlog_peak, self.pending)
                task = self.loop.create_task(self.serve(unit, tid, body, addr))
                self.sim._track(task)
        if self.pending >= _MAX_PENDING and not self.paused and self.transport:
            self.paused = True  # a client pipelining without reading replies: stop reading
            self.transport.pause_reading()
        return used

    def data_received(self, data: bytes) -> None:
        """Buffer and frame (pymodbus's version also hex-dumps every chunk for its debug log)."""
        buffered = self.recv_buffer + data if self.recv_buffer else data
        used = self.callback_data(buffered)
        self.recv_buffer = buffered[used:]
        if len(self.recv_buffer) > (_MAX_BACKLOG_BYTES if self.paused else _MAX_BUFFER):
            log.warning("Discarding %d unframeable bytes", len(self.recv_buffer))
            self.recv_buffer = b""

    async def serve(self, unit: int, tid: int, body: bytes, addr: tuple | None) -> None:
        """Answer one request; replies leave in request order, after any injected delay."""
        try:
            await self.reply(unit, tid, body)
        finally:
            self.pending -= 1
            if self.paused and self.pending <= _MAX_PENDING // 2 and self.transport:
                self.paused = False
                self.transport.resume_reading()
                if self.recv_buffer:  # requests that arrived while we were busy
                    self.data_received(b"")

    async def reply(self, unit: int, tid: int, body: bytes) -> None:
        """Serve a request in its turn and send the (possibly faulty) reply."""
        async with self.order:
            response = await self.respond(unit, body)
            if response is None:
                return
            frame = self.frame(response, unit, tid)
            sent: bytes | None = frame
            injector = self.sim.injector
            if injector:
                decision = injector.decide()
                if decision.delay:
                    await asyncio.sleep(decision.delay)
                sent = injector.mangle(decision, frame, self.sim.rtu)
                if sent != frame:
                    log.info("Fault %s: sending %s", decision, sent and sent.hex())
            if sent and self.transport:
                self.transport.write(sent)

    def frame(self, response: ModbusPDU, unit: int, tid: int) -> bytes:
        """The reply frame; register reads are packed in one go (pymodbus packs each)."""
        function = response.function_code
        if function in (3, 4) and isinstance(response, ReadHoldingRegistersResponse):
            count = len(response.registers)
            payload = bytes((function, 2 * count)) + _WORDS[count].pack(*response.registers)
            return self.framer.encode(payload, unit, tid)
        response.transaction_id = tid
        response.dev_id = unit
        return self.framer.buildFrame(response)

    async def respond(self, unit: int, body: bytes) -> ModbusPDU | None:
        """The reply PDU for one request body, or None when the device must stay silent."""
        context = self.server.context
        broadcast = self.sim.rtu and unit == 0
        if not broadcast and unit not in context.devices and 0 not in context.devices:
            if self.sim.rtu:
                return None  # not our address on the bus
            return ExceptionResponse(body[0] & 0x7F, ExcCodes.GATEWAY_NO_RESPONSE)
        function = body[0]
        pdu = None if function & 0x80 else self.server.decoder.decode(body)
        if pdu is None:
            known = function in self.server.decoder.pdu_table
            code = ExcCodes.ILLEGAL_VALUE if known else ExcCodes.ILLEGAL_FUNCTION
            return None if broadcast else ExceptionResponse(function & 0x7F, code)
        table = _BIT_FCS.get(function)
        if table is not None:
            count = 1 if function == 5 else pdu.count
            if not self.sim.bit_runs[table].covers(pdu.address, max(count, 1)):
                return None if broadcast else ExceptionResponse(function, ExcCodes.ILLEGAL_ADDRESS)
        targets = context.devices if broadcast else [unit]
        response = None
        for target in targets:
            try:
                response = await pdu.datastore_update(context, target)
            except Exception as exc:
                log.warning("Request %s failed: %s", pdu, exc)
                response = ExceptionResponse(function, ExcCodes.DEVICE_FAILURE)
        if function in _WRITES and response is not None and not response.isError():
            log.log(DETAIL, "Unit %d %s", unit, _describe_write(pdu))
        return None if broadcast else response


def _describe_write(pdu: ModbusPDU) -> str:
    table = _WRITES[pdu.function_code]
    values = [int(v) for v in (pdu.bits[: pdu.count or 1] if table.bits else pdu.registers)]
    first, last = address_of(table, pdu.address), address_of(table, pdu.address + len(values) - 1)
    if first is None or last is None:
        first, last = pdu.address, pdu.address + len(values) - 1
        where = f"{table.name} offset {first}"
    else:
        where = f"{first}"
    if len(values) > 1:
        where += f"-{last}"
    return f"wrote {where} = {values}"


class _SimServer:
    """Mixin for pymodbus servers: our handler and framers."""

    simulator: ModbusSimulator
    framer: type[FramerBase]

    def _adopt(self, simulator: ModbusSimulator) -> None:
        self.simulator = simulator
        self.framer = _RtuFramer if simulator.rtu else _SocketFramer

    def callback_new_connection(self) -> _Handler:
        return _Handler(self)


class _TcpServer(_SimServer, ModbusTcpServer):
    pass


class _SerialServer(_SimServer, ModbusSerialServer):
    pass


class ModbusSimulator:
    """A simulated Modbus device: TCP (``address=(host, port)``) or RTU (``address="/dev/.."``).

    ``registers``: register specs (``"40001-40100=99"`` or parsed ``RegisterSpec``) or the
    ``{table: {offset: value}}`` mapping of :func:`register_definitions`. ``units``: unit ids
    simulated (each its own copy of the registers); empty answers every unit id. ``faults``:
    fault specs or :class:`Fault` objects (changeable later via :attr:`faults`). Serial options
    (``baudrate``, ``bytesize``, ``parity``, ``stopbits``) apply to RTU only.
    """

    def __init__(
        self,
        registers: Iterable[str | RegisterSpec] | Definitions = (),
        address: tuple[str, int] | str = ("127.0.0.1", 0),
        units: Sequence[int] = (),
        faults: Iterable[str | Fault] = (),
        seed: int | None = None,
        baudrate: int = 19200,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: int = 1,
    ) -> None:
        if isinstance(registers, dict):
            self.definitions: Definitions = registers
        else:
            self.definitions = register_definitions(registers)
        for unit in units:
            if not 1 <= unit <= 247:
                raise ValueError(f"unit id {unit} is outside 1-247")
        self.units = tuple(dict.fromkeys(units))
        self.rtu = isinstance(address, str)
        self.requested = address
        self.serial = SerialOptions(
            baudrate=baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits
        )
        self.seed = seed
        self.injector = FaultInjector(faults, seed=seed)
        self.injector.check(self.rtu)
        self.bit_runs = {t: _Runs(self.definitions.get(t, {})) for t in (COILS, DISCRETE_INPUTS)}
        self.devices = [build_device(self.definitions, unit) for unit in self.units or (0,)]
        self.address: tuple[str, int] | str | None = None
        self.server: _TcpServer | _SerialServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task] = set()
        #: Request frames received (including ones ignored or answered with an exception).
        self.requests = 0
        #: Most requests of one connection ever waiting for their reply at once.
        self.backlog_peak = 0

    # -- faults -----------------------------------------------------------------------------
    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults applied to every reply from now on (assign specs or Fault objects)."""
        return self.injector.faults

    @faults.setter
    def faults(self, faults: Iterable[str | Fault]) -> None:
        injector = FaultInjector(faults, seed=self.seed)
        injector.check(self.rtu)
        self.injector = injector

    # -- running inside an event loop -------------------------------------------------------
    async def start_async(self) -> tuple[str, int] | str:
        """Start serving in the running loop; returns the bound address (real port if 0)."""
        self.loop = asyncio.get_running_loop()
        requested = self.requested
        server: _TcpServer | _SerialServer
        if isinstance(requested, str):
            server = _SerialServer(
                self.devices,
                port=requested,
                framer=FramerType.RTU,
                reconnect_delay=0,
                **self.serial,
            )
        else:
            host, port = requested
            server = _TcpServer(self.devices, address=(host or "0.0.0.0", port))
        server._adopt(self)
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            raise OSError(f"cannot serve Modbus on {self.requested!r}: {exc}") from None
        self.server = server
        if isinstance(requested, str):
            self.address = requested
        else:
            # pymodbus types its listening asyncio.Server as a BaseTransport.
            sockname = server.transport.sockets[0].getsockname()  # type: ignore[attr-defined]
            self.address = (requested[0], sockname[1])
        return self.address

    async def stop_async(self) -> None:
        """Stop serving and drop every connection and pending reply."""
        for task in list(self._tasks):
            task.cancel()
        if self.server is not None:
            await self.server.shutdown()
            self.server = None

    def _track(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- running in a background thread -----------------------------------------------------
    def start(self, timeout: float = 5.0) -> tuple[str, int] | str:
        """Start a thread running the simulator; returns the bound address."""
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="modbus_sim", daemon=True)
        self._thread.start()
        try:
            return asyncio.run_coroutine_threadsafe(self.start_async(), loop).result(timeout)
        except BaseException:
            self._halt(loop)
            raise

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread started by :meth:`start` (idempotent)."""
        loop = self.loop
        if self._thread is None or loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.stop_async(), loop).result(timeout)
        finally:
            self._halt(loop)

    def _halt(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._thread = None
        if not loop.is_running():
            loop.close()

    def __enter__(self) -> ModbusSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- direct access to the store (any thread) --------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 5.0) -> T:
        if self.loop is None or self.server is None:
            coro.close()
            raise RuntimeError("simulator is not running")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            raise RuntimeError("use get_async/set_async inside the simulator's loop")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _unit(self, unit: int | None) -> int:
        unit = self.units[0] if unit is None and self.units else unit or 0
        if self.units and unit not in self.units:
            raise ValueError(f"unit {unit} is not simulated (units: {list(self.units)})")
        return unit

    async def get_async(self, address: int, count: int = 1, unit: int | None = None) -> list[Value]:
        """``count`` values from data-model ``address``; KeyError if any is undefined."""
        table, offset = locate(address)
        if table.bits and not self.bit_runs[table].covers(offset, count):
            raise KeyError(f"{address} (x{count}) is not defined")
        assert self.server is not None
        result = await self.server.context.async_getValues(
            self._unit(unit), _FC_OF[table], offset, count
        )
        if isinstance(result, ExcCodes):
            raise KeyError(f"{address} (x{count}) is not defined")
        return [bool(v) for v in result] if table.bits else list(result)

    async def set_async(
        self, address: int, values: Value | Sequence[Value], unit: int | None = None
    ) -> None:
        """Store ``values`` from data-model ``address`` (any table; KeyError if undefined)."""
        table, offset = locate(address)
        items = [values] if isinstance(values, (int, bool)) else list(values)
        checked = [table.check_value(v) for v in items]
        if table.bits and not self.bit_runs[table].covers(offset, len(checked)):
            raise KeyError(f"{address} (x{len(checked)}) is not defined")
        assert self.server is not None
        result = await self.server.context.async_setValues(
            self._unit(unit), _FC_OF[table], offset, checked
        )
        if result is not None:
            raise KeyError(f"{address} (x{len(checked)}) is not defined")

    def get(self, address: int, count: int = 1, unit: int | None = None) -> list[Value]:
        """Thread-safe :meth:`get_async` for a simulator started with :meth:`start`."""
        return self._call(self.get_async(address, count, unit))

    def set(self, address: int, values: Value | Sequence[Value], unit: int | None = None) -> None:
        """Thread-safe :meth:`set_async` for a simulator started with :meth:`start`."""
        self._call(self.set_async(address, values, unit))
