"""Benchmark a fleet's broadcast discovery (docs/fleet.md, Discovery): how many of a
``--devices`` fleet's ListIdentity replies one requester gets, and how soon.

A fleet of ControlLogix devices (one tag each, on 127.0.x.y addresses from 127.0.100.1, one
free port) runs in a child process with the discovery's ``BATCH`` and ``PACE`` set from the
command line. This process binds a UDP socket on 127.0.0.1 with the default receive buffer
(net.core.rmem_default), sends one ListIdentity to 127.255.255.255 (loopback only) and reads
replies until none has come for 1 s, spending ``--work`` seconds on each (a busy wait, for a
client that parses and stores what it gets). Printed per (work, batch, pace): replies received
of those expected, and seconds from the request to the last reply. ``--work``, ``--batch`` and
``--pace`` take comma-separated lists; each setting gets a fresh fleet.

    python bench/fleet_discovery.py [--devices 1000] [--batch 16,1000] [--pace 0.004,0]
                                    [--work 0,0.0002] [--runs 3]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fleet import free_port  # bench/fleet.py (this folder is first on sys.path)

from cpppo.server.enip.codec.encap import Command, encode_encap

#: Run as ``python -c SERVER FLEET_FILE BATCH PACE``: the fleet with the discovery's pacing set.
SERVER = """
import asyncio, sys
from cpppo.server.enip.fleet import discovery
from cpppo.server.enip.fleet.server import FleetServer
from cpppo.server.enip.fleet.spec import load_fleet
discovery.BATCH, discovery.PACE = int(sys.argv[2]), float(sys.argv[3])
async def main():
    server = FleetServer(load_fleet(sys.argv[1]))
    failed = await server.start()
    print("ready", len(server.devices) - len(failed), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop()
asyncio.run(main())
"""


def measure(
    devices: int, batch: int, pace: float, folder: Path, work: float = 0.0
) -> tuple[int, float]:
    """(replies received, seconds to the last) for one broadcast to a fresh fleet; the client
    spends ``work`` seconds on each reply (a busy wait, as parsing and storing it would)."""
    port = free_port()
    plant = folder / "plant.toml"
    plant.write_text(
        f'[[device]]\nkind = "controllogix"\naddress = "127.0.100.1"\ncount = {devices}\n'
        f'port = {port}\ntags = ["X=DINT"]\n'
    )
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(plant), str(batch), str(pace)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        ready = server.stdout.readline()
        assert ready.split() == ["ready", str(devices)], ready
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            client.bind(("127.0.0.1", 0))
            client.settimeout(1.0)
            started = time.perf_counter()
            last = started
            client.sendto(encode_encap(Command.LIST_IDENTITY), ("127.255.255.255", port))
            received = 0
            while received < devices:
                try:
                    client.recv(4096)
                except TimeoutError:
                    break
                received += 1
                last = time.perf_counter()
                while time.perf_counter() - last < work:
                    pass
        return received, last - started
    finally:
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> None:
    """Parse the arguments and print one line per (batch, pace)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--batch", default="16,1000")
    parser.add_argument("--pace", default="0.004,0")
    parser.add_argument("--runs", type=int, default=3, help="broadcasts per setting")
    parser.add_argument(
        "--work", default="0,0.0002", help="seconds the client spends on each reply (list)"
    )
    args = parser.parse_args()
    rmem = Path("/proc/sys/net/core/rmem_default")
    default = rmem.read_text().strip() if rmem.exists() else "?"
    print(f"{args.devices} devices; requester's receive buffer: default ({default} bytes)")
    with tempfile.TemporaryDirectory() as tmp:
        for work in (float(w) for w in args.work.split(",")):
            for batch in (int(b) for b in args.batch.split(",")):
                for pace in (float(p) for p in args.pace.split(",")):
                    results = [
                        measure(args.devices, batch, pace, Path(tmp), work)
                        for _ in range(args.runs)
                    ]
                    shown = ", ".join(f"{n}/{args.devices} in {s * 1e3:.0f} ms" for n, s in results)
                    print(f"client {work * 1e6:3.0f} us/reply, batch {batch:4d}, "
                          f"pace {pace * 1e3:3.1f} ms: {shown}")  # fmt: skip


if __name__ == "__main__":
    main()
