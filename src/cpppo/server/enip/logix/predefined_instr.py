"""Predefined structures of Logix instructions: MESSAGE, PID, ALARM_ANALOG, ALARM_DIGITAL, CAM.

An export never defines these types, and may carry a tag of one with no data that shows its
members (a MESSAGE tag as ``Format="Message"``). Their members are the public ones Rockwell's
instruction manuals document (1756-RM003: MSG, PID, ALMA, ALMD; motion: CAM), with the types
and the status bits the manuals give: MESSAGE's EW/ER/DN/ST/EN/TO/EN_CC are bits 2 and 4..9 of
FLAGS, PID's status bits are bits of CTL, the alarms' fault bits are bits of Status. The manuals
do not give every offset, so the layouts are ours: the documented members in documented order,
BOOLs packed into hidden DINTs, laid out with a controller's rules. Clients read them through
the Template object, so they decode them consistently; a real controller's memory image of
these types does not fit them.

Public API:
    INSTRUCTION_TYPES                the names, in this order: MESSAGE PID ALARM_ANALOG
                                     ALARM_DIGITAL CAM
    instruction_type(name, rules=LayoutRules()) -> Structure | None
                                     a new layout of that type (kind "Predefined", its own
                                     template id), or None for another name
    PREDEFINED_TEMPLATE_IDS          template ids (0xF01..0xFFF) left for other predefined
                                     structures a database builds (types an export's data shows)
"""

from __future__ import annotations

from collections.abc import Callable

from .atomic import LayoutRules
from .layout import MemberDef, layout_structure
from .predefined import PREDEFINED
from .structure import Structure

__all__ = ["INSTRUCTION_TYPES", "PREDEFINED_TEMPLATE_IDS", "instruction_type"]


def _typed(type_name: str, *names: str) -> list[MemberDef]:
    return [MemberDef(n, type_name) for n in names]


def _bools(*names: str) -> list[MemberDef]:
    return _typed("BOOL", *names)


def _bits(target: str, bits: dict[str, int]) -> list[MemberDef]:
    return [MemberDef(n, "BIT", target=target, bit=b) for n, b in bits.items()]


def _message() -> list[MemberDef]:
    flags = {"EW": 2, "ER": 4, "DN": 5, "ST": 6, "EN": 7, "TO": 8, "EN_CC": 9}
    return [
        MemberDef("FLAGS", "INT", radix="Hex"),
        *_bits("FLAGS", flags),
        MemberDef("ERR", "INT", radix="Hex"),
        MemberDef("EXERR", "INT", radix="Hex"),
        MemberDef("ERR_SRC", "SINT"),
        *_typed("INT", "REQ_LEN", "DN_LEN", "DestinationLink", "DestinationNode", "SourceLink"),
        *_typed("INT", "Class", "Attribute"),
        *_typed("DINT", "Instance", "LocalIndex"),
        *_typed("SINT", "Channel", "Rack", "Group", "Slot"),
        MemberDef("Path", "STRING"),
        MemberDef("RemoteIndex", "DINT"),
        MemberDef("RemoteElement", "STRING"),
        *_typed("DINT", "UnconnectedTimeout", "ConnectionRate"),
        MemberDef("TimeoutMultiplier", "SINT"),
    ]


def _pid() -> list[MemberDef]:
    status = dict(
        zip(
            ("EN", "CT", "CL", "PVT", "DOE", "SWM", "CA", "MO", "PE", "NDF", "NOBC", "NOZC"),
            range(31, 19, -1),
        )
    )
    status.update(
        zip(
            ("INI", "SPOR", "OLL", "OLH", "EWD", "DVNA", "DVPA", "PVLA", "PVHA"),
            range(15, 6, -1),
        )
    )
    reals = (
        "SP", "KP", "KI", "KD", "BIAS", "MAXS", "MINS", "DB", "SO", "MAXO", "MINO", "UPD", "PV",
        "ERR", "OUT", "PVH", "PVL", "DVP", "DVN", "PVDB", "DVDB", "MAXI", "MINI", "TIE", "MAXCV",
        "MINCV", "MINTIE", "MAXTIE",
    )  # fmt: skip
    return [
        MemberDef("CTL", "DINT", radix="Hex"),
        *_bits("CTL", status),
        *_typed("REAL", *reals),
        MemberDef("DATA", "REAL", 17),
    ]


_LEVELS = ("HH", "H", "L", "LL")
_CONDITIONS = (*_LEVELS, "ROCPos", "ROCNeg")


def _alarm_analog() -> list[MemberDef]:
    acks = [f"{c}{who}Ack" for c in _CONDITIONS for who in ("Prog", "Oper")]
    limits: list[MemberDef] = []
    for level in _LEVELS:
        limits += [MemberDef(f"{level}Limit", "REAL"), MemberDef(f"{level}Severity", "DINT")]
    status = (
        "InstructFault", "InFaulted", "SeverityInv", "AlarmLimitsInv", "DeadbandInv",
        "ROCPosLimitInv", "ROCNegLimitInv", "ROCPeriodInv",
    )  # fmt: skip
    return [
        MemberDef("EnableIn", "BOOL"),
        MemberDef("In", "REAL"),
        *_bools("InFault", *(f"{level}Enabled" for level in _LEVELS), "AckRequired"),
        *_bools("ProgAckAll", "OperAckAll", *acks),
        *_bools("ProgSuppress", "OperSuppress", "ProgUnsuppress", "OperUnsuppress"),
        *_bools(*(f"{c}OperShelve" for c in _CONDITIONS), "ProgUnshelveAll"),
        *_bools(*(f"{c}OperUnshelve" for c in _CONDITIONS)),
        *_bools("ProgDisable", "OperDisable", "ProgEnable", "OperEnable", "AlarmCountReset"),
        MemberDef("UseProgTime", "BOOL"),
        MemberDef("ProgTime", "LINT"),
        *limits,
        *_typed("DINT", "MinDurationPRE", "ShelveDuration", "MaxShelveDuration"),
        MemberDef("Deadband", "REAL"),
        MemberDef("ROCPosLimit", "REAL"),
        MemberDef("ROCPosSeverity", "DINT"),
        MemberDef("ROCNegLimit", "REAL"),
        MemberDef("ROCNegSeverity", "DINT"),
        MemberDef("ROCPeriod", "REAL"),
        *_bools("EnableOut", *(f"{c}InAlarm" for c in _CONDITIONS)),
        MemberDef("ROC", "REAL"),
        *_bools(*(f"{c}Acked" for c in _CONDITIONS), *(f"{c}InAlarmUnack" for c in _CONDITIONS)),
        *_bools("Suppressed", *(f"{c}Shelved" for c in _CONDITIONS), "Disabled", "Commissioned"),
        MemberDef("MinDurationACC", "DINT"),
        *_typed("LINT", *(f"{c}InAlarmTime" for c in _CONDITIONS)),
        *_typed("LINT", *(f"{c}AckTime" for c in _CONDITIONS)),
        *_typed("LINT", *(f"{c}RetToNormalTime" for c in _CONDITIONS)),
        *_typed("DINT", *(f"{c}AlarmCount" for c in _CONDITIONS)),
        *_typed("LINT", "AlarmCountResetTime", "ShelveTime", "UnshelveTime"),
        MemberDef("Status", "DINT", radix="Hex"),
        *_bits("Status", {name: bit for bit, name in enumerate(status)}),
    ]


def _alarm_digital() -> list[MemberDef]:
    return [
        *_bools("EnableIn", "In", "InFault", "Condition", "AckRequired", "Latched"),
        *_bools("ProgAck", "OperAck", "ProgReset", "OperReset"),
        *_bools("ProgSuppress", "OperSuppress", "ProgUnsuppress", "OperUnsuppress"),
        *_bools("OperShelve", "ProgUnshelve", "OperUnshelve"),
        *_bools("ProgDisable", "OperDisable", "ProgEnable", "OperEnable", "AlarmCountReset"),
        MemberDef("UseProgTime", "BOOL"),
        MemberDef("ProgTime", "LINT"),
        *_typed("DINT", "Severity", "MinDurationPRE", "ShelveDuration", "MaxShelveDuration"),
        *_bools("EnableOut", "InAlarm", "Acked", "InAlarmUnack", "Suppressed", "Shelved"),
        *_bools("Disabled", "Commissioned"),
        *_typed("DINT", "MinDurationACC", "AlarmCount"),
        *_typed("LINT", "InAlarmTime", "AckTime", "RetToNormalTime", "AlarmCountResetTime"),
        *_typed("LINT", "ShelveTime", "UnshelveTime"),
        MemberDef("Status", "DINT", radix="Hex"),
        *_bits("Status", {"InstructFault": 0, "InFaulted": 1, "SeverityInv": 2}),
    ]


def _cam() -> list[MemberDef]:
    return [*_typed("REAL", "Master", "Slave"), MemberDef("SegmentType", "DINT")]


_DEFINITIONS: dict[str, tuple[int, Callable[[], list[MemberDef]]]] = {
    "MESSAGE": (0x0F84, _message),
    "PID": (0x0F85, _pid),
    "ALARM_ANALOG": (0x0F86, _alarm_analog),
    "ALARM_DIGITAL": (0x0F87, _alarm_digital),
    "CAM": (0x0F88, _cam),
}

INSTRUCTION_TYPES: tuple[str, ...] = tuple(_DEFINITIONS)

#: The structures their members use (besides atomic types).
_MEMBER_TYPES = {"STRING": PREDEFINED["STRING"]}

#: Known predefined template ids (STRING, TIMER, COUNTER, CONTROL and the types above).
_TAKEN = {0x0FCE, 0x0F81, 0x0F82, 0x0F83, *(tid for tid, _ in _DEFINITIONS.values())}

PREDEFINED_TEMPLATE_IDS: tuple[int, ...] = tuple(
    i
    for i in range(0xF01, 0x1000)
    if i not in _TAKEN and (i & 0xFF) != 0xA0 and not 0xC0 <= i & 0xFF <= 0xDF
)


def instruction_type(name: str, rules: LayoutRules | None = None) -> Structure | None:
    """A new layout of the instruction type ``name`` (case-insensitive), or None."""
    found = _DEFINITIONS.get(name.upper())
    if found is None:
        return None
    template_id, defs = found
    return layout_structure(
        name.upper(), defs(), _MEMBER_TYPES, rules=rules, kind="Predefined", host_bits=32,
        template_id=template_id,
    )  # fmt: skip
