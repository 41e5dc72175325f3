"""Forks of a tag database: one loaded database serving many simulated devices.

A fork has the source's types, templates, programs, tag names, instance ids and symbol
addresses, shared by reference (none of them changes once loaded), and tags of its own: each
base tag a :meth:`~.tag.Tag.fork` (the same :class:`~.tag.TagShape`, its own copy of the
memory), each alias bound to the fork's tags. The name tables and the type tables stay shared
until either database changes them (adds or removes a tag or program, registers a type): it
then copies them first (copy-on-write), so neither sees the other's changes.

Public API:
    fork(db) -> TagDB                 what ``TagDB.fork()`` returns
    unshare(db), unshare_types(db)    copy the tables still shared before a change (TagDB
                                      calls them)
"""

from __future__ import annotations

from typing import Any

from .tag import AliasTag, AnyTag, Tag

#: A :class:`~.tagdb.TagDB` (not imported: it imports this module).
TagDB = Any

__all__ = ["fork", "unshare", "unshare_types"]


def unshare(db: TagDB) -> None:
    """Give ``db`` its own name, program and instance-id tables (copies of the shared ones)."""
    if not db._shared:
        return
    db._names = {key: dict(names) for key, names in db._names.items()}
    db._used_ids = {key: set(used) for key, used in db._used_ids.items()}
    db._programs = dict(db._programs)
    db._shared = False


def unshare_types(db: TagDB) -> None:
    """Give ``db`` its own type and template tables (copies of the shared ones)."""
    if not db._shared_types:
        return
    db._types = dict(db._types)
    db._by_template = dict(db._by_template)
    db._by_handle = dict(db._by_handle)
    db._templates = dict(db._templates)
    db._shared_types = False


def _copy_alias(alias: AliasTag) -> AliasTag:
    return AliasTag(
        alias.name, alias.alias_for, program=alias.program,
        external_access=alias.external_access, instance_id=alias.instance_id,
        description=alias.description,
    )  # fmt: skip


def fork(source: TagDB) -> TagDB:
    """A database with ``source``'s types and tags, each base tag with its own memory (a copy
    of the source's current bytes), its aliases bound to its own tags and no ``on_add``."""
    cls: Any = type(source)
    db = cls.__new__(cls)
    db.name, db.revision, db.rules = source.name, source.revision, source.rules
    source._shared = source._shared_types = db._shared = db._shared_types = True
    db._types, db._by_template = source._types, source._by_template
    db._by_handle, db._templates = source._by_handle, source._templates
    db._names, db._programs, db._used_ids = source._names, source._programs, source._used_ids
    db._next_id = dict(source._next_id)
    db._next_address = source._next_address
    db._instances = {}
    aliases: list[tuple[AliasTag, AliasTag]] = []
    for key, scope in source._instances.items():
        mine: dict[int, AnyTag] = {}
        for instance_id, tag in scope.items():
            if isinstance(tag, Tag):
                mine[instance_id] = tag.fork()
            else:
                copy = mine[instance_id] = _copy_alias(tag)
                aliases.append((tag, copy))
        db._instances[key] = mine
    db._pending = []
    db._symbol_cache = {}
    db.on_add = None
    db.version = source.version
    for original, alias in aliases:
        if original.target is None:
            db._pending.append(alias)
        elif alias.target is None:  # (binding an alias binds the aliases it names first)
            db._bind(alias)
    # Symbol entries depend only on what the fork shares: the source's cached lists serve it.
    db._symbol_cache = dict(source._symbol_cache)
    db.version = source.version
    return db
