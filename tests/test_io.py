"""Atomic writes leave nothing half-written; readers accept paths and file objects."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from breakeven.errors import InputError
from breakeven.io import atomic_path, atomic_write_text, read_text, source_name


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "results.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}"
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_atomic_path_removes_temporary_on_error(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_read_text_from_path_and_buffer(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeffx,y\r\n".encode())
    assert read_text(path) == "x,y\r\n"
    assert read_text(io.BytesIO(b"abc")) == "abc"
    assert source_name(io.BytesIO(b"")) == "<stream>"
    with pytest.raises(InputError, match="file not found"):
        read_text(tmp_path / "missing.csv")


def test_atomic_write_gives_normal_permissions(tmp_path: Path) -> None:

    mask = os.umask(0o022)
    try:
        target = atomic_write_text(tmp_path / "profile.json", "{}")
    finally:
        os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o644
