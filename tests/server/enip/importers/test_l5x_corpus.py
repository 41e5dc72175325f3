"""Every L5X export the project can find (its own under tests/, the third-party ones in
../shared/data) loads: nothing is fatal. One line per file says what loaded and what was
skipped (shown with ``pytest -s`` or ``-rP``)."""

from __future__ import annotations

from pathlib import Path

from cpppo.server.enip.importers.l5x import L5XImport, load_l5x
from cpppo.server.enip.logix import AliasTag

TESTS = Path(__file__).resolve().parents[3]


def exports(folder: Path) -> list[Path]:
    """Every ``*.L5X`` under ``folder`` (any case), sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".l5x" and p.is_file())


def counts(result: L5XImport) -> str:
    """What an import loaded and skipped, in one line."""
    db = result.db
    tags = db.all_tags()
    io = sum(":" in t.name for t in tags)
    aliases = sum(isinstance(t, AliasTag) for t in tags)
    types = sum(s.kind != "Predefined" for s in db.structures)
    return (
        f"{result.target}: loaded {len(tags)} tags ({io} module I/O, {aliases} aliases, "
        f"{len(db.programs)} programs), {types} types; skipped {len(result.warnings)}"
    )


def load_all(files: list[Path], root: Path) -> dict[str, L5XImport]:
    """Load each file (quietly), print its line; file -> result."""
    results = {}
    for path in files:
        results[str(path.relative_to(root))] = result = load_l5x(path, quiet=True)
        print(f"{path.relative_to(root)}: {counts(result)}")
        for warning in result.warnings:
            print(f"    skipped: {warning}")
    return results


def test_the_projects_own_exports_load():
    files = exports(TESTS)
    assert len(files) >= 2
    results = load_all(files, TESTS)
    assert all(r.db.all_tags() for r in results.values())


def test_the_third_party_exports_load(shared_data):
    files = exports(shared_data)
    assert len(files) >= 21
    results = load_all(files, shared_data)
    loaded = sum(len(r.db.all_tags()) for r in results.values())
    assert loaded >= 258, loaded
    module_io = sum(":" in t.name for r in results.values() for t in r.db.all_tags())
    assert module_io >= 32, module_io
