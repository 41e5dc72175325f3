"""Issue 16, item 5: embedding ``main()`` as with the original cpppo 5.2.5.

``main(argv=[...], server=...)`` takes, besides a ServerControl, the original's
``dotdict(control=dotdict(done=False, ...))`` and a plain ``dict(done=False)`` (or dotdict):
setting ``done`` stops it, ``disable`` closes and reopens the port. One script run by ours and by
the original (its venv) embeds the simulator in a thread, reads and writes a tag, and stops it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import pytest
from original525 import original_json

from cpppo.dotdict import dotdict
from cpppo.server.enip import client
from cpppo.server.enip.main import main

pytestmark = pytest.mark.timeout(120)

EMBED_SCRIPT = """
import json
import sys
import threading
import time

from cpppo.dotdict import dotdict
from cpppo.server.enip import client
from cpppo.server.enip import main as enip_main

port, form = int(sys.argv[1]), sys.argv[2]
if form == "control":
    server = dotdict(control=dotdict(done=False, disable=False, latency=0.1, timeout=0.5))
    signals = server.control
else:
    server = dict(done=False)
    signals = server
argv = ["-a", "127.0.0.1:%d" % port, "X=INT[2]"]
thread = threading.Thread(target=enip_main.main, kwargs=dict(argv=argv, server=server))
thread.daemon = True
thread.start()
values = None
for _ in range(100):
    try:
        with client.connector(host="127.0.0.1", port=port, timeout=2) as conn:
            ops = client.parse_operations(["X[1]=7", "X[0-1]"])
            values = [val for _, _, _, _, _, val in conn.synchronous(ops)]
        break
    except OSError:
        time.sleep(0.1)
signals["done"] = True
thread.join(10)
print(json.dumps({"values": values, "stopped": not thread.is_alive()}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ours(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", EMBED_SCRIPT, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("form", ["control", "done"])
def test_embedding_script(form):
    """The original's dotdict(control=...) form and a plain dict(done=False): set done, it stops."""
    assert _ours(str(_free_port()), form) == {"values": [True, [0, 7]], "stopped": True}


def test_embedding_script_as_the_original():
    """The original's form gives the same with the original (which refuses dict(done=False))."""
    expected = {"values": [True, [0, 7]], "stopped": True}
    assert original_json(EMBED_SCRIPT, str(_free_port()), "control") == expected


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_dotdict_done_and_disable_in_a_thread():
    """A dotdict as ``server``: ``server.disable`` closes and reopens the port, ``server.done``
    stops main(), which returns 0."""
    port = _free_port()
    server = dotdict(done=False)
    status = []
    argv = ["-a", f"127.0.0.1:{port}", "X=DINT"]
    thread = threading.Thread(target=lambda: status.append(main(argv, server=server)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while _refused(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.disable is False  # set, as the original set it
        server.disable = True
        deadline = time.monotonic() + 5
        while not _refused(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _refused(port)
        server.disable = False
        deadline = time.monotonic() + 5
        while _refused(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        with client.connector("127.0.0.1", port, timeout=5) as conn:
            assert list(conn.results(client.parse_operations(["X"]))) == [[0]]
    finally:
        server.done = True
        thread.join(10)
    assert not thread.is_alive() and status == [0]


def test_bad_server_argument(capsys):
    """Anything else as ``server``: one line, status 2."""
    assert main(["-a", "127.0.0.1:0", "X=INT"], server=5) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "server must be a ServerControl" in err[0]
