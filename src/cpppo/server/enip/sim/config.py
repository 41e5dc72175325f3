"""Loading ``cpppo.cfg``: the configuration of the simulated controller's standard CIP objects.

Files are read in this order, later ones overriding earlier ones (docs/enip-server.md, cpppo.cfg):
``/etc/cpppo.cfg`` (``%APPDATA%\\cpppo.cfg`` on Windows), ``~/.cpppo.cfg``, ``./cpppo.cfg``,
then any files named with ``-c/--config``.

The format is Python's :mod:`configparser` with these conveniences, as the original cpppo has them:

- option names are case-insensitive and spaces, underscores and hyphens are equivalent
  (``Product Name`` == ``product_name``);
- ``#`` starts a comment, at the start of a line or after whitespace;
- ``${section:option}`` interpolation;
- a JSON value may span several lines, indented or not, until its brackets balance, and may carry
  trailing commas (``{"a": 1,}``), so the spec's example loads as written.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONFIG_BASENAME",
    "Config",
    "ConfigError",
    "config_paths",
    "load_config",
    "loads_json",
    "normalize_key",
]

CONFIG_BASENAME = "cpppo.cfg"

_KEY_SEPARATORS = re.compile(r"[\s_\-]+")
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_SECTION = re.compile(r"^\s*\[[^\]]+\]", re.MULTILINE)
_REFERENCE = re.compile(r"\$\{[^}:]+:")


class ConfigError(ValueError):
    """A configuration file or value that cannot be used."""


def normalize_key(key: str) -> str:
    """The canonical form of an option name: lower case, single spaces for ``_``/``-``/blanks."""
    return _KEY_SEPARATORS.sub(" ", key.strip()).lower()


def config_paths(basename: str = CONFIG_BASENAME) -> list[str]:
    """The default configuration files, in the order they are read (later ones override)."""
    if sys.platform == "win32":
        system = os.path.join(os.environ.get("APPDATA", ""), basename)
    else:
        system = os.path.join("/etc", basename)
    return [system, os.path.join(os.path.expanduser("~"), "." + basename), basename]


def _strip_strings(text: str) -> str:
    """``text`` with the contents of JSON string literals blanked, for bracket counting."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


def _balance(text: str) -> int:
    """How many more ``[``/``{`` than ``]``/``}`` the text has outside strings."""
    bare = _strip_strings(text)
    return bare.count("[") + bare.count("{") - bare.count("]") - bare.count("}")


def _join_json_values(text: str) -> str:
    """Indent the continuation lines of multi-line JSON values so configparser keeps them.

    configparser only continues a value on indented lines; the spec's example closes its JSON
    object with a ``}`` in column 0, which configparser would take for a new option.
    """
    out: list[str] = []
    depth = 0
    # Section names are case-insensitive too: [identity] and [Identity] are one section.
    text = _SECTION.sub(lambda m: m.group(0).lower(), text)
    text = _REFERENCE.sub(lambda m: m.group(0).lower(), text)
    for line in text.splitlines():
        if depth > 0:
            if line.strip() and not line.strip().startswith(("#", ";")):
                depth += _balance(line)
            out.append("    " + line.lstrip() if line.strip() else line)
            continue
        out.append(line)
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";", "[")) or line[:1].isspace():
            continue
        match = re.match(r"[^=:]*[=:](.*)$", line)
        if match:
            value = match.group(1).split(" #", 1)[0].split("\t#", 1)[0].strip()
            if value.startswith(("[", "{")):
                depth = max(0, _balance(value))
    return "\n".join(out) + "\n"


def loads_json(text: str) -> Any:
    """Parse a JSON configuration value, tolerating trailing commas before ``]`` and ``}``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", text))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON value {text!r}: {exc}") from None


def _new_parser() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(
        interpolation=configparser.ExtendedInterpolation(),
        inline_comment_prefixes=("#",),
        comment_prefixes=("#", ";"),
        strict=False,
        empty_lines_in_values=False,
    )
    parser.optionxform = normalize_key  # type: ignore[assignment,method-assign]
    return parser


@dataclass
class Config:
    """Loaded configuration: the parser and the list of files actually read."""

    parser: configparser.ConfigParser = field(default_factory=_new_parser)
    loaded: list[str] = field(default_factory=list)

    def section(self, name: str) -> dict[str, str]:
        """The options of a section (matched case-insensitively), names normalised; {} if absent."""
        section = name.lower()
        if not self.parser.has_section(section):
            return {}
        try:
            return {key: value for key, value in self.parser.items(section)}
        except configparser.Error as exc:
            raise ConfigError(f"[{name}]: {exc}") from None

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        """One option's text value (``key`` in any spelling), or ``default``."""
        return self.section(section).get(normalize_key(key), default)

    def read_string(self, text: str, source: str = "<string>") -> None:
        """Merge configuration text (later values override earlier ones)."""
        try:
            self.parser.read_string(_join_json_values(text), source=source)
        except configparser.Error as exc:
            raise ConfigError(f"{source}: {exc}") from None


def load_config(
    paths: Iterable[str] | None = None, extra: Iterable[str] = (), *, defaults: bool = True
) -> Config:
    """Read the default configuration files (if ``defaults``), then ``paths``, then ``extra``.

    Missing files are skipped; a file that exists but cannot be parsed raises :class:`ConfigError`.
    ``Config.loaded`` lists the files read, spelt as given (``['cpppo.cfg']`` for the cwd file).
    """
    config = Config()
    candidates: list[str] = list(config_paths()) if defaults else []
    candidates += list(paths or ()) + list(extra)
    for path in candidates:
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        config.read_string(text, source=path)
        config.loaded.append(path)
    return config
