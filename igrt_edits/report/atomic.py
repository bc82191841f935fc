"""Write output files atomically: a temporary file in the same directory, then a rename.

An interrupted run leaves the previous file (or none), never a partial one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `target`; rename it over `target` on success."""
    target = Path(target)
    directory = target.parent if str(target.parent) else Path(".")
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    os.close(handle)
    temp = Path(name)
    try:
        os.chmod(temp, _file_mode(target))
        yield temp
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _file_mode(target: Path) -> int:
    """The replaced file's permissions, or those a new file gets (mkstemp's are owner-only)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_text(target: str | Path, newline: str | None = None) -> Iterator[IO[str]]:
    """Yield a text stream whose content replaces `target` only when the block succeeds."""
    with atomic_path(target) as temp, open(temp, "w", encoding="utf-8", newline=newline) as out:
        yield out


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM unwinds like Ctrl-C (SystemExit 143), so a pending temporary
    file is removed. Without it a terminated run still leaves no partial output (the rename
    has not happened), but its temporary file would stay behind.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
