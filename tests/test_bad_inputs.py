"""The corpus of broken and odd inputs (tests/data/bad/cases.toml), every case through the real CLI.

Each case runs in a fresh copy of tests/data/bad and must: exit with its code, print its error as the first
line of stderr (naming the file, line or key, with what was expected and what was found), print no
traceback, and leave no file behind (or exactly the files a successful case lists). The cases and what
each checks are described at the top of cases.toml.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costmodel.cli import app

BAD = Path(__file__).parent / "data" / "bad"
CASES: list[dict[str, Any]] = tomllib.loads((BAD / "cases.toml").read_text())["case"]
ENV = {"BREAKEVEN_MEMORY_BUDGET": "4G", "BREAKEVEN_ACCEPT": "", "COLUMNS": "1000", "NO_COLOR": "1"}
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _files(folder: Path) -> set[str]:
    """Every file under ``folder``, through the links to the corpus folders (a write there would show too)."""
    return {
        str((Path(root) / name).relative_to(folder))
        for root, _, names in os.walk(folder, followlinks=True)
        for name in names
    }


def _workspace(tmp_path: Path) -> Path:
    """The corpus as the command sees it: read-only inputs linked, ``paths/`` (which cases write into) copied."""
    work = tmp_path / "bad"
    work.mkdir()
    for child in BAD.iterdir():
        if child.name == "paths":
            shutil.copytree(child, work / child.name)
        else:
            (work / child.name).symlink_to(child, target_is_directory=child.is_dir())
    return work


def test_the_corpus_is_big_and_ids_are_unique() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 80
    areas = {i.split("-")[0] for i in ids}
    assert {"trace", "prices", "profile", "report", "path", "analyze", "spec"} <= areas


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if case.get("skip_root") and ROOT:
        pytest.skip("root ignores folder permissions")
    work = _workspace(tmp_path)
    for rel, mode in case.get("chmod", {}).items():
        (work / rel).mkdir(parents=True, exist_ok=True)
        (work / rel).chmod(mode)
    monkeypatch.chdir(work)
    before = _files(work)
    result = CliRunner().invoke(app, case["args"], env={**ENV, **case.get("env", {})})
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == case.get("exit", 2), output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if "error" in case:
        assert lines, "no error printed"
        first = lines[0]
        assert first.startswith("error: "), first
        assert case["error"] in first, first
        assert "expected" in first or case.get("exit", 2) != 2, f"no 'expected ...' in: {first}"
    if "warning" in case:
        warned = [line for line in lines if line.startswith("warning: ")]
        assert any(case["warning"] in line for line in warned), result.stderr
    if "stderr" in case:
        assert case["stderr"] in result.stderr, result.stderr
    if "no_warning" in case:
        assert case["no_warning"] not in result.stderr, result.stderr
    created = _files(work) - before
    assert created == set(case.get("creates", [])), f"files left behind: {sorted(created)}"
    for rel in case.get("chmod", {}):
        (work / rel).chmod(0o700)  # let pytest clean up
