"""The one way sizes are written (list, prune, demo build): powers of 1024, one decimal."""

from __future__ import annotations

import pytest

from kalshi_tui.core.report import fmt_bytes


@pytest.mark.parametrize("size, text", [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (235_000, "229.5 KB"),
    (5 * 1024 ** 2, "5.0 MB"), (3 * 1024 ** 3, "3.0 GB"), (5 * 1024 ** 4, "5120.0 GB"),
])
def test_sizes_read_as_operators_read_them(size, text):
    assert fmt_bytes(size) == text
