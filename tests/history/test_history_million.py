"""cpppo.history acceptance: 1,000,000 records through rotation and every compression.

In a file of its own, so that ``pytest -n 2 --dist loadfile`` runs it beside the other tests.
"""

from __future__ import annotations

import os

import pytest

from cpppo.history import logger, reader, rotations, timestamp

T0 = timestamp("2014-07-15 22:03:35.945")


@pytest.mark.slow
def test_million_records_round_trip(tmp_path):
    """1,000,000 records through rotation into gz, bz2 and xz files (and the live file)."""
    path = tmp_path / "million.hst"
    count = 1_000_000
    step = 0.001
    for third, compress in enumerate(("gz", "bz2", "xz")):
        with logger(path, rotate_bytes=8_000_000, compress=compress, compress_level=1) as log:
            for i in range(third * count // 3, (third + 1) * count // 3):
                when = timestamp.from_us(T0.us + i * 1000)
                log.write(["Tag", i % 1000], {"v": i, "f": i * step}, now=when)
    suffixes = {os.path.splitext(name)[1] for _, name in rotations(path)}
    assert {".gz", ".bz2", ".xz"} <= suffixes
    i = 0
    for when, key, payload in reader(path, strict=True):
        assert when.us == T0.us + i * 1000
        assert key == ["Tag", i % 1000]
        assert payload == {"v": i, "f": i * step}
        i += 1
    assert i == count
