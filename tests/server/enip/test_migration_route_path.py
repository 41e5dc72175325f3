"""Issue 16, item 2: route paths, beside the original cpppo 5.2.5.

The spec's ``--route-path '[{"link": 0, "port": "192.168.1.2"}]'`` swaps the roles (in CIP the
port is a number, the link a number or an address): the simulator and the client refuse it at
start-up with one line naming the form meant; the original cannot encode it either. Every form
the original reads, ours reads to the same bytes, and our simulator and client agree on them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from original525 import original_json

from cpppo.server.enip import client
from cpppo.server.enip.client.operations import OperationError
from cpppo.server.enip.codec import epath
from cpppo.server.enip.main import parse_route_path as server_route_path

pytestmark = pytest.mark.timeout(120)

SWAPPED = '[{"link": 0, "port": "192.168.1.2"}]'
MEANT = 'did you mean [{"port": 2, "link": "192.168.1.2"}]?'

#: Forms the original 5.2.5 reads (its device.parse_route_path).
ORIGINAL_FORMS = [
    "1/0",
    "1/3",
    "2/192.168.1.2",
    "1/0/2/10.0.0.1",
    '[{"port": 1, "link": 0}]',
    '[{"link": 0, "port": 1}]',
    '{"port": 1, "link": 3}',
    '[{"port": 2, "link": "192.168.1.2"}]',
    '[{"port": 16, "link": 5}]',
    '[{"port": 1, "link": 0}, {"port": 2, "link": "10.0.0.1"}]',
]

_ORIGINAL_ENCODE = """
import json, sys
from cpppo.dotdict import dotdict
from cpppo.server.enip import device, parser
out = {}
for form in json.loads(sys.argv[1]):
    try:
        segments = device.parse_route_path(form)
        out[form] = parser.EPATH_padded.produce([dotdict(s) for s in segments]).hex()
    except Exception as exc:
        out[form] = "refused: %s" % exc
print(json.dumps(out))
"""


def _cli(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("cpppo.server.enip", ["-a", "127.0.0.1:0", "X=INT"]),
        ("cpppo.server.enip.client", ["-a", "127.0.0.1:1", "X"]),
        ("cpppo.server.enip.getattr", ["-a", "127.0.0.1:1", "@1/1"]),
    ],
)
def test_swapped_form_refused_at_startup(module, args):
    """Simulator, client and getattr: exit 2 with one line on stderr naming the form meant."""
    done = _cli(module, "--route-path", SWAPPED, *args)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].endswith(MEANT), done.stderr


def test_swapped_form_refused_by_the_api():
    """connector() and the simulator's parser refuse it before any connection is made."""
    with pytest.raises(OperationError, match=MEANT.replace("[", r"\[").replace("?", r"\?")):
        client.connector("127.0.0.1", 1, route_path=SWAPPED)
    with pytest.raises(ValueError, match="did you mean"):
        server_route_path(SWAPPED)


def test_forms_encode_as_the_original():
    """Every form the original reads encodes to the original's bytes; the swapped form is
    refused by both."""
    forms = [*ORIGINAL_FORMS, SWAPPED]
    theirs = original_json(_ORIGINAL_ENCODE, json.dumps(forms))
    for form in ORIGINAL_FORMS:
        ours = epath.encode_route_path(epath.parse_route_path(form))
        assert ours.hex() == theirs[form], form
    assert theirs[SWAPPED].startswith("refused")
    with pytest.raises(ValueError, match="did you mean"):
        epath.parse_route_path(SWAPPED)


@pytest.mark.parametrize("form", ["1/0/2/192.168.1.2", '[{"port": 2, "link": "192.168.1.2"}]'])
def test_simulator_and_client_agree(enip_simulator_factory, form):
    """A simulator checking route path ``form`` serves a client routed by the same text, and
    refuses one routed elsewhere."""
    sim = enip_simulator_factory(["X=DINT"], route_path=server_route_path(form))
    with client.connector(sim.host, sim.port, timeout=5, route_path=form) as conn:
        ((*_, sts, val),) = conn.synchronous(client.parse_operations(["X"]))
    assert (sts, val) == (0, [0])
    with client.connector(sim.host, sim.port, timeout=5, route_path="1/5") as conn:
        ((*_, sts, val),) = conn.synchronous(client.parse_operations(["X"]))
    assert val is None and sts
