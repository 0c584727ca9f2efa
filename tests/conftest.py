"""Shared test helpers: paths to bundled fixtures and to the optional ../shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
DATA = TESTS / "data"
REPO = TESTS.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def data_dir() -> Path:
    """tests/data: small real fixtures copied from ../shared/data (see tests/data/SOURCES.md)."""
    return DATA


def shared_file(relative: str) -> Path:
    """A file under ../shared/data, or skip the test when it is absent (users' clones have no ../shared)."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"../shared/data/{relative} not available")
    return path
