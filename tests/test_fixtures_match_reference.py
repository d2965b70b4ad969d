"""The in-repository copies of the original system's files match the reference, when it is there.

A clean clone has no ../shared: this test then skips, and every other test still runs on the
copies in tests/fixtures/kalshiflow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kalshiflow"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "kalshiflow"


def test_fixture_copies_are_byte_identical_to_the_reference():
    if not SHARED.is_dir():
        pytest.skip("../shared/reference/kalshiflow is not beside this checkout")
    ours = sorted(p.name for p in FIXTURES.iterdir())
    theirs = sorted(p.name for p in SHARED.iterdir())
    assert ours == theirs
    for name in ours:
        assert (FIXTURES / name).read_bytes() == (SHARED / name).read_bytes(), name
