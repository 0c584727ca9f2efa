"""Small I/O helpers shared by every loader and writer.

- :func:`source_name` gives a printable name for a path or an open file (used in error messages).
- :func:`read_bytes` / :func:`read_text` accept a path, ``str`` path or binary/text file-like object, so
  loaders can be tested with ``io.BytesIO``.
- :func:`atomic_write_text` / :func:`atomic_write_bytes` / :func:`atomic_path` write through a temporary file
  in the target folder and rename it into place, so an error never leaves a half-written output.
- :func:`check_output_file` / :func:`check_output_folder` say *before any work starts* whether an output
  path can be written (a folder without write permission, a path below an existing file, an existing
  folder where a file is asked for, a read-only or virtual file system): commands call them first thing.

Every output-path failure, checked early or met while writing, is an :class:`InputError` naming the path
and the reason (``out/x.parquet: cannot write here: 'out' is a file, not a folder; ...``).
"""

from __future__ import annotations

import contextlib
import errno
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
            raise InputError(f"{os.fspath(src)}: file not found; expected the path of an existing file") from exc
        except IsADirectoryError as exc:
            raise InputError(f"{os.fspath(src)}: is a directory; expected a file") from exc
        except OSError as exc:
            raise InputError(f"{os.fspath(src)}: cannot read ({exc.strerror}); expected a readable file") from exc
    data: Any = src.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def read_text(src: PathOrBuffer, *, encoding: str = "utf-8") -> str:
    """Read all of ``src`` as text (UTF-8 with an optional BOM); UTF-16/32 files are named as such."""
    data = read_bytes(src)
    if encoding == "utf-8":
        check_utf8(data, source_name(src))
    try:
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source_name(src)}: not valid {encoding} text (byte {exc.start}); expected a text file"
        ) from exc


_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32 LE"),
    (b"\x00\x00\xfe\xff", "UTF-32 BE"),
    (b"\xff\xfe", "UTF-16 LE"),
    (b"\xfe\xff", "UTF-16 BE"),
)


def text_encoding(head: bytes) -> str | None:
    """The encoding of text that is UTF-16 or UTF-32 (by byte-order mark, or by the NUL bytes of ASCII
    text without one), else ``None`` (UTF-8, ASCII, or binary data of no text encoding)."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    sample = head[:4096]
    if len(sample) >= 8 and sample.count(0) * 4 >= len(sample):  # ASCII as UTF-16: every other byte is NUL
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) * 10 >= len(odd) * 9 and even.count(0) * 10 < len(even):
            return "UTF-16 LE"
        if even.count(0) * 10 >= len(even) * 9 and odd.count(0) * 10 < len(odd):
            return "UTF-16 BE"
    return None


def check_utf8(head: bytes, name: str) -> None:
    """Raise :class:`InputError` naming the encoding when ``head`` is UTF-16 or UTF-32 text."""
    found = text_encoding(head)
    if found is not None:
        raise InputError(
            f"{name}: the file is {found} text; expected UTF-8 "
            f"(convert it, e.g. `iconv -f {found.split()[0]} -t UTF-8 {name} > utf8-copy`)"
        )


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it to ``target``, on error delete it.

    Use for writers that need a path (pyarrow, pandas). The parent folder is created if missing. A path
    that cannot be written (see :func:`check_output_file`), or a write that fails (disk full), raises
    :class:`InputError` naming ``target`` and the reason.
    """
    target = Path(target)
    check_output_file(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(target, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the output the permissions a plain open() would (0666 & ~umask).
        tmp.chmod(0o666 & ~_umask())
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in _WRITE_ERRNOS:
            raise _cannot_write(target, exc) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


#: OS errors that mean "this output cannot be written" (rather than a bug in the writer).
_WRITE_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
        errno.EIO,
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.ENAMETOOLONG,
        errno.EXDEV,
    }
)


def check_output_file(
    target: str | os.PathLike[str], *, option: str | None = None, example: str = "output.json"
) -> Path:
    """Check that a file can be written at ``target`` (creating missing folders); raise :class:`InputError` if not.

    Call it before any long work: it catches an existing folder at ``target``, a path below an existing
    file, a folder without write permission and read-only or virtual file systems (``/proc``, ``/sys``),
    by creating and deleting a probe file in the nearest existing folder. Nothing is left behind. ``example``
    is the file name suggested when ``target`` is a folder.
    """
    path = Path(target)
    try:
        if path.is_dir():
            raise InputError(
                f"{_label(path, option)}: cannot write a file here: it is an existing folder; "
                f"expected a file path such as {path / example}"
            )
        if path.exists() and not path.is_file():
            raise InputError(
                f"{_label(path, option)}: cannot write a file here: it is a device, pipe or socket, which a "
                "finished file would replace; expected a regular file path"
            )
        folder = _probe(path, path.parent, option)
        # The temporary file beside the target is named ".<name>.<8 chars>.tmp".
        if len(os.fsencode(path.name)) + 14 > _name_max(folder):
            raise InputError(
                f"{_label(path, option)}: cannot write there: the file name is too long "
                f"({len(os.fsencode(path.name))} bytes); expected at most {_name_max(folder) - 14}"
            )
    except OSError as exc:
        raise InputError(
            f"{_label(path, option)}: cannot write there: {_reason(exc, path.parent)}; {_WRITABLE}"
        ) from exc
    return path


def check_output_folder(target: str | os.PathLike[str], *, option: str | None = None) -> Path:
    """Check that ``target`` is (or can be created as) a writable folder; raise :class:`InputError` if not."""
    path = Path(target)
    try:
        if path.exists() and not path.is_dir():
            raise InputError(
                f"{_label(path, option)}: cannot write there: expected a folder for the outputs, found a file"
            )
        _probe(path, path, option)
    except OSError as exc:
        raise InputError(f"{_label(path, option)}: cannot write there: {_reason(exc, path)}; {_WRITABLE}") from exc
    return path


_WRITABLE = "expected a path in a folder you can write to"


def _label(path: Path, option: str | None) -> str:
    return f"option {option}: {path}" if option else str(path)


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows) or not reported
        return 255


def _probe(path: Path, folder: Path, option: str | None) -> Path:
    """Create and delete a file in the nearest existing ancestor of ``folder`` (where writing will happen)."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(
            f"{_label(path, option)}: cannot write there: {str(existing)!r} is a file, not a folder; "
            "expected a path inside a folder"
        )
    try:
        fd, name = tempfile.mkstemp(prefix=".breakeven-write-check-", dir=existing)
    except OSError as exc:
        raise InputError(f"{_label(path, option)}: cannot write there: {_reason(exc, existing)}; {_WRITABLE}") from exc
    os.close(fd)
    Path(name).unlink(missing_ok=True)
    return existing


def _reason(exc: OSError, folder: Path) -> str:
    """Plain words for why writing in ``folder`` failed."""
    where = str(folder)
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return f"no permission to create files in {where!r} ({exc.strerror})"
    if code == errno.EROFS:
        return f"{where!r} is on a read-only file system"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left in {where!r} ({exc.strerror})"
    if code in (errno.ENOENT, errno.EOPNOTSUPP, errno.EINVAL):
        return f"{where!r} does not accept new files (a virtual or system file system: {exc.strerror})"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long"
    return exc.strerror or str(exc)


def _cannot_write(target: Path, exc: OSError) -> InputError:
    folder = Path(exc.filename).parent if isinstance(exc.filename, str) else target.parent
    return InputError(f"{target}: cannot write there: {_reason(exc, folder)}; {_WRITABLE}")


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
