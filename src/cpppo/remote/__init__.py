"""Remote PLC I/O (spec 3): the poller API, Modbus/TCP and Modbus/RTU on pymodbus 3.16.

Importing ``cpppo.remote`` needs nothing beyond the standard library; the Modbus modules
(``plc_modbus``, ``simulator``, ``modbus_sim``, ``modbus_poll``) need the ``modbus`` extra.
"""
