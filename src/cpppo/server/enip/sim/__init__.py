"""The simulated CIP device: CIP objects, Connection Manager, UCMM, the Logix controller and its
router, and the PowerFlex device model. Pure and synchronous: no sockets, no clock of its own.
"""
