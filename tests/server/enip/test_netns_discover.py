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

import pytest

from helpers import IP, add_interface, network_namespace, pylogix_discover

pytestmark = [pytest.mark.netns, pytest.mark.timeout(60)]

#: The namespace's own interface address and its broadcast address.
ADDRESS = "10.254.0.1"
BROADCAST = "10.254.0.255"

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


@pytest.fixture
def namespace():
    """A fresh network namespace: d0 holding ADDRESS/24, the limited broadcast routed out."""
    with network_namespace("cpppo") as name:
        add_interface(name, [ADDRESS], BROADCAST)
        yield name


def test_pylogix_discover_finds_the_simulator(namespace, enip_server_process, tmp_path):
    server = enip_server_process(
        "--no-config", "-a", "0.0.0.0:44818", "I=INT",
        prefix=[IP, "netns", "exec", namespace], cwd=str(tmp_path),
    )  # fmt: skip
    assert server.address == ("0.0.0.0", 44818)
    found = pylogix_discover(namespace, ADDRESS, tmp_path)
    assert found["status"] == "Success"
    # one request per IPv4 address the host name has (getaddrinfo lists it once per socket type)
    assert found["devices"], f"no reply; simulator log: {server.errors()}"
    assert all(device == EXPECTED for device in found["devices"]), found["devices"]
