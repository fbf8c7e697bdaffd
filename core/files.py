"""Files the command writes: built beside the target and renamed into place only once complete."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from core.errors import DomainError, Invalid


class UnusableOutput(Invalid):
    """An output path that cannot become a file: its folder is missing, or it is a folder."""


class WriteFailed(DomainError):
    """Writing an output failed part way (a full disk, say); nothing half-written was left behind."""


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary file's path in `path`'s folder; rename it to `path` when the block succeeds.

    A failure leaves no half-written file (an earlier file of that name stays whole). A target that exists and
    is not a regular file (/dev/stdout, a named pipe) is written in place: it cannot be renamed over.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UnusableOutput(f"cannot write {path}: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UnusableOutput(f"{path} is a folder: give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        with _failures(path):
            yield path
        return
    folder = path.parent
    if not folder.is_dir():
        raise UnusableOutput(f"cannot write {path}: there is no folder {folder}")
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise UnusableOutput(f"cannot write {path}: {exc.strerror}") from None
    os.close(handle)
    temporary = Path(name)
    try:
        with _failures(path):
            os.chmod(temporary, stat.S_IMODE(mode) if mode is not None else _default_mode())
            yield temporary
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(path: Path, write: Callable[[TextIO], None]) -> None:
    """Write a UTF-8 text file (line ends as given) all at once: `write(out)` fills it."""
    with replacing(path) as target, target.open("w", encoding="utf-8", newline="") as out:
        write(out)
        out.flush()
        if target != path:
            os.fsync(out.fileno())  # on disk before the rename makes it the file


@contextmanager
def _failures(path: Path) -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise  # the reader of a pipe went away: the caller stops quietly
    except OSError as exc:
        raise WriteFailed(f"could not write {path}: {exc.strerror or type(exc).__name__}") from None


def _default_mode() -> int:
    """What open() would have given a new file: 0o666 less the process's umask (mkstemp's files are 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
