"""The client table's policy (bounded; the idlest connection without a session makes room;
then refusal) and the open file limit, without sockets."""

from __future__ import annotations

import resource

from cpppo.server.enip.net.capacity import ClientTable, raise_fd_limit


def test_raise_fd_limit_goes_to_the_hard_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert raise_fd_limit() >= soft
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] in (hard, 1 << 20)


class _Client:
    def __init__(self, opened: float, session: bool = False) -> None:
        self.opened = self.last = opened
        self.session = session

    def has_session(self) -> bool:
        return self.session

    def busy(self) -> bool:
        return False


def test_client_table_is_bounded_and_evicts_the_idlest_without_a_session():
    table: ClientTable[_Client] = ClientTable(3)
    a, b, c = _Client(0.0), _Client(1.0, session=True), _Client(2.0)
    for client in (a, b, c):
        assert table.admit(client) == (True, None)
    table.touch(a)  # a is now more recently active than c
    d = _Client(3.0)
    assert table.admit(d) == (True, c)
    assert len(table) == 3 and c not in table
    a.session = d.session = True
    assert table.admit(_Client(4.0)) == (False, None)
    assert len(table) == 3 and table.counters.evicted == 1 and table.counters.refused == 1
