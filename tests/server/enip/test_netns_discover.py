"""pylogix ``PLC().Discover()`` finds the simulator, inside a network namespace this test makes.

Discover only broadcasts: a UDP ListIdentity to 255.255.255.255:44818, sent from each IPv4
address the host name resolves to. So it never runs on the host's network. The test creates a
uniquely named namespace holding lo and one interface of its own: a dummy, or a veth pair with
both ends inside where the kernel has no dummy driver (gVisor, minimal kernels). It routes the
limited broadcast out of that interface and runs the simulator (``-a 0.0.0.0:44818``) and the
pylogix client there with ``ip netns exec``. Then it deletes the namespace, killing whatever
still runs in it, whether the test passed or not. The client binds the host name's addresses, so
it sees an ``/etc/hosts`` naming the namespace's address. That file is bind-mounted in the
private mount namespace ``ip netns exec`` gives it; the host's file is untouched. Before mounting
or sending anything, the client checks that its network and mount namespaces are not the
test's. Needs root and iproute2; otherwise the test is skipped and says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys

import pytest

pytest.importorskip("pylogix")

pytestmark = [pytest.mark.netns, pytest.mark.timeout(60)]

IP = shutil.which("ip")
MOUNT = shutil.which("mount")
#: The namespace's own interface address and its broadcast address.
ADDRESS = "10.254.0.1"
BROADCAST = "10.254.0.255"

#: Run as ``python -c CLIENT HOSTS OUTER_NET OUTER_MNT`` inside the namespace; prints a JSON
#: object: Discover's status and the devices found.
CLIENT = """
import json, os, subprocess, sys
hosts, outer_net, outer_mnt = sys.argv[1:4]
if os.readlink("/proc/self/ns/net") == outer_net or os.readlink("/proc/self/ns/mnt") == outer_mnt:
    sys.exit("refusing to run: not inside the test's own network and mount namespaces")
subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True, timeout=10)
import pylogix
reply = pylogix.PLC().Discover()
print(json.dumps({"status": reply.Status, "devices": [vars(d) for d in reply.Value or []]}))
"""

#: What pylogix makes of the simulator's default identity (spec 2.1.1), answered from ADDRESS.
EXPECTED = {
    "Length": 54,
    "EncapsulationVersion": 1,
    "IPAddress": ADDRESS,
    "VendorID": 1,
    "Vendor": "Rockwell Automation/Allen-Bradley",
    "DeviceID": 14,
    "DeviceType": "Programmable Logic Controller",
    "ProductCode": 54,
    "Revision": "20.11",
    "Status": 0x3160,
    "SerialNumber": "0x6c061a",
    "ProductNameLength": 20,
    "ProductName": "1756-L61/B LOGIX5561",
    "State": 255,
}


def ip(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Run ``ip *args`` (bounded by ``timeout``)."""
    assert IP is not None
    return subprocess.run([IP, *args], capture_output=True, text=True, timeout=timeout)


def ip_ok(*args: str) -> None:
    """Run ``ip *args``; AssertionError with its message if it fails."""
    done = ip(*args)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr.strip()}"


def configure(name: str) -> None:
    """lo up; d0 with ADDRESS/24 and the route that sends 255.255.255.255 out of it."""
    ip_ok("-n", name, "link", "set", "lo", "up")
    if ip("-n", name, "link", "add", "d0", "type", "dummy").returncode:
        ip_ok("-n", name, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
        ip_ok("-n", name, "link", "set", "d1", "up")
    ip_ok("-n", name, "addr", "add", f"{ADDRESS}/24", "broadcast", BROADCAST, "dev", "d0")
    ip_ok("-n", name, "link", "set", "d0", "up")
    ip_ok("-n", name, "route", "add", "255.255.255.255/32", "dev", "d0", "src", ADDRESS)


def remove(name: str) -> None:
    """SIGKILL what still runs in namespace ``name``, then delete it."""
    for pid in ip("netns", "pids", name).stdout.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    ip_ok("netns", "delete", name)


@pytest.fixture
def namespace():
    """The name of a fresh network namespace set up by :func:`configure`; deleted at teardown."""
    if os.geteuid() != 0:
        pytest.skip(f"creating a network namespace needs root (euid is {os.geteuid()})")
    if IP is None or MOUNT is None:
        pytest.skip("needs iproute2's `ip` and `mount` on PATH")
    name = f"cpppo-{os.getpid()}-{secrets.token_hex(3)}"
    added = ip("netns", "add", name)
    if added.returncode:
        pytest.skip(f"`ip netns add {name}` is not permitted here: {added.stderr.strip()}")
    try:
        configure(name)
        yield name
    finally:
        remove(name)


def test_pylogix_discover_finds_the_simulator(namespace, enip_server_process, tmp_path):
    server = enip_server_process(
        "--no-config", "-a", "0.0.0.0:44818", "I=INT",
        prefix=[IP, "netns", "exec", namespace], cwd=str(tmp_path),
    )  # fmt: skip
    assert server.address == ("0.0.0.0", 44818)
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{ADDRESS} {socket.gethostname()}\n")
    outer = [os.readlink(f"/proc/self/ns/{kind}") for kind in ("net", "mnt")]
    client = subprocess.run(
        [IP, "netns", "exec", namespace, sys.executable, "-c", CLIENT, str(hosts), *outer],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert client.returncode == 0, client.stderr
    found = json.loads(client.stdout.splitlines()[-1])
    assert found["status"] == "Success"
    # one request per IPv4 address the host name has (getaddrinfo lists it once per socket type)
    assert found["devices"], f"no reply; simulator log: {server.errors()}"
    assert all(device == EXPECTED for device in found["devices"]), found["devices"]
