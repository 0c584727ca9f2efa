"""Small I/O helpers shared by every loader and writer.

- :func:`source_name` gives a printable name for a path or an open file (used in error messages).
- :func:`read_bytes` / :func:`read_text` accept a path, ``str`` path or binary/text file-like object, so
  loaders can be tested with ``io.BytesIO``.
- :func:`atomic_write_text` / :func:`atomic_write_bytes` / :func:`atomic_path` write through a temporary file
  in the target folder and rename it into place, so an error never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from breakeven.errors import InputError

PathOrBuffer = str | os.PathLike[str] | IO[bytes] | IO[str]


def source_name(src: PathOrBuffer) -> str:
    """A printable name for ``src``: the path, or the file object's ``name``, or ``<stream>``."""
    if isinstance(src, str | os.PathLike):
        return os.fspath(src)
    name = getattr(src, "name", None)
    return str(name) if isinstance(name, str) else "<stream>"


def read_bytes(src: PathOrBuffer) -> bytes:
    """Read all of ``src`` as bytes; a missing or unreadable path raises :class:`InputError`."""
    if isinstance(src, str | os.PathLike):
        try:
            return Path(src).read_bytes()
        except FileNotFoundError as exc:
            raise InputError(f"{os.fspath(src)}: file not found") from exc
        except IsADirectoryError as exc:
            raise InputError(f"{os.fspath(src)}: is a directory; expected a file") from exc
        except OSError as exc:
            raise InputError(f"{os.fspath(src)}: cannot read ({exc.strerror})") from exc
    data: Any = src.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def read_text(src: PathOrBuffer, *, encoding: str = "utf-8") -> str:
    """Read all of ``src`` as text (UTF-8 with an optional BOM)."""
    data = read_bytes(src)
    try:
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source_name(src)}: not valid {encoding} text (byte {exc.start}); expected a text file"
        ) from exc


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it to ``target``, on error delete it.

    Use for writers that need a path (pyarrow, pandas). The parent folder is created if missing.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the output the permissions a plain open() would (0666 & ~umask).
        tmp.chmod(0o666 & ~_umask())
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` all at once (temporary file + rename). Returns the target path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``target`` all at once (temporary file + rename)."""
    return atomic_write_bytes(target, text.encode("utf-8"))
