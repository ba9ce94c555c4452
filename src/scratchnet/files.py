"""Durable file writes: a file is either the old one or the complete new one, never partial.

Used for model files, run records and downloaded datasets alike. The temp file is named
``.<name>.<pid>.<random>.tmp`` beside the target; a process killed mid-write (SIGKILL, power
loss) leaves one behind, which the next write of that file, or ``remove_stale_temps`` on a
directory (``scratchnet train`` calls it on start), deletes once its writer is gone.
"""
from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

from .errors import FileWriteError

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True      # our own: maybe another thread's write in progress
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True      # someone else's live process
    return True


def remove_stale_temps(directory: Path, name: str | None = None) -> list[Path]:
    """Delete temp files of interrupted atomic writes in ``directory`` (only those of ``name``
    when given) whose writing process no longer runs; returns what was removed."""
    removed = []
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match and (name is None or match["name"] == name) and not _alive(int(match["pid"])):
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


def _file_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, data: bytes) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(directory, path.name)
        _write(path, directory, data)
    except OSError as err:
        if isinstance(err, FileWriteError):
            raise
        reason = ("the disk is full" if err.errno in (errno.ENOSPC, errno.EDQUOT) else
                  err.strerror or str(err))
        raise FileWriteError(err.errno, f"could not write {path}: {reason}; the previous "
                             f"version (if any) is intact") from err


def _write(path: Path, directory: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                               dir=directory)
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; a save should not change access
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt: never leave a half-written temp file behind.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
