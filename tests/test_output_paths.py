"""Output paths are checked before any work and every failure is one clear InputError naming the path."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

from breakeven.errors import InputError
from breakeven.io import atomic_write_text, check_output_file, check_output_folder

ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_path_below_a_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match=r"afile/out\.parquet: cannot write there: '.*afile' is a file, not a folder"):
        check_output_file(tmp_path / "afile" / "out.parquet")
    with pytest.raises(InputError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "afile" / "sub" / "deeper")
    assert _listing(tmp_path) == ["afile"]


def test_an_existing_folder_where_a_file_is_asked_for(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"option --output: .*: it is an existing folder; expected a file path"):
        check_output_file(tmp_path, option="--output", example="trace.parquet")


def test_a_file_where_a_folder_is_asked_for(tmp_path: Path) -> None:
    target = tmp_path / "report"
    target.write_text("")
    with pytest.raises(InputError, match="expected a folder for the outputs, found a file"):
        check_output_folder(target)


def test_devices_are_never_replaced() -> None:
    with pytest.raises(InputError, match="/dev/null: cannot write a file here: it is a device"):
        check_output_file("/dev/null")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_virtual_file_systems_are_refused_before_writing() -> None:
    with pytest.raises(InputError, match=r"/proc/x\.json: cannot write there: '/proc' does not accept new files"):
        check_output_file("/proc/x.json")
    with pytest.raises(InputError, match="cannot write there"):
        atomic_write_text("/proc/x.json", "{}")


@pytest.mark.skipif(ROOT, reason="root may write into a read-only folder")
def test_no_write_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(InputError, match=r"cannot write there: no permission to create files in"):
            check_output_file(locked / "out.csv")
    finally:
        locked.chmod(0o700)


def test_no_write_permission_as_any_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # root ignores folder permissions, so the OS error a normal user gets is raised here on purpose.
    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(InputError, match=r"out\.csv: cannot write there: no permission to create files in"):
        check_output_file(tmp_path / "out.csv", option="--output")


def test_a_file_name_too_long(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="too long"):
        check_output_file(tmp_path / ("x" * 300 + ".json"))


def test_missing_folders_are_fine_and_the_check_leaves_nothing(tmp_path: Path) -> None:
    assert check_output_file(tmp_path / "new" / "deep" / "out.csv") == tmp_path / "new" / "deep" / "out.csv"
    assert check_output_folder(tmp_path / "reports") == tmp_path / "reports"
    assert _listing(tmp_path) == []


def test_a_write_that_fails_midway_becomes_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(InputError, match=r"out\.json: cannot write there: no space left"):
        atomic_write_text(tmp_path / "out.json", "{}")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["poisson", "--rate", "1", "--duration", "10s"],
        ["shared", "--rate", "1", "--duration", "10s", "--system", "100"],
        ["rag", "--rate", "1", "--duration", "10s", "--docs", "3"],
        ["conversations", "--rate", "0.1", "--duration", "10s"],
    ],
    ids=lambda a: a[0],
)
def test_every_generator_checks_its_output_path_first(tmp_path: Path, args: list[str]) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415 - only this test drives the CLI

    from costmodel.cli import app  # noqa: PLC0415

    result = CliRunner().invoke(app, ["trace", "generate", *args, "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "it is an existing folder; expected a file path" in result.output
    assert _listing(tmp_path) == []
