"""``cpppo.remote.pymodbus_fixes`` is gone on purpose: importing it raises ImportError.

cpppo 5.x kept here replacement classes for bugs of old pymodbus releases (RTU framing and
timeouts, TCP timeouts, signal handling, sparse data blocks). pymodbus 3.16, which cpppo now
uses, has none of those bugs, so nothing replaces them: use pymodbus' own clients and servers, or
cpppo's ``modbus_sim``/``modbus_poll`` and poller API. docs/modbus.md ("What became of
cpppo.remote.pymodbus_fixes") says what became of each class; docs/migrating.md lists this with
the other differences from cpppo 5.x.
"""

raise ImportError(
    "cpppo.remote.pymodbus_fixes is gone: pymodbus 3.16 needs none of its fixes. See "
    "docs/modbus.md, 'What became of cpppo.remote.pymodbus_fixes', for what replaces each class "
    "(use pymodbus' own clients and servers, or cpppo.remote's poller API), and docs/migrating.md",
    name=__name__,
)
