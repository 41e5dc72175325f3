"""Tag behaviours: declared values that change by themselves (docs/behaviours.md).

- :mod:`.generators`: ramp, sine, square, sawtooth, random_walk, noise, counter, toggle;
- :mod:`.expr`: the whitelisted expression language of ``expr("...")``;
- :mod:`.replay`: recorded histories as functions of time (``replay(...)``, ``--replay``);
- :mod:`.spec`: the behaviour text, ``--behave`` and the TOML behaviour file;
- :mod:`.engine`: :class:`Behaviours`, bound to a tag database, updated in batches;
- :mod:`.playback`: :class:`Playback`, a whole history served into the tags it names.

Pure: the event loop that runs the updates is :mod:`cpppo.server.enip.net.behaviour_loop`.
"""

from .engine import DEFAULT_RATE, Behaviour, Behaviours, TagValues
from .generators import GENERATORS, Generator
from .replay import Recording, Series
from .spec import WRITE_POLICIES, BehaviourError, BehaviourFile, Entry, load_file, parse_behave

__all__ = [
    "DEFAULT_RATE",
    "GENERATORS",
    "WRITE_POLICIES",
    "Behaviour",
    "BehaviourError",
    "BehaviourFile",
    "Behaviours",
    "Entry",
    "Generator",
    "Recording",
    "Series",
    "TagValues",
    "load_file",
    "parse_behave",
]
