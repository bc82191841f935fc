"""Write output files atomically: a temporary file in the same directory, then a rename.

An interrupted run leaves the previous file (or none), never a partial one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
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
        yield temp
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_text(target: str | Path, newline: str | None = None) -> Iterator[IO[str]]:
    """Yield a text stream whose content replaces `target` only when the block succeeds."""
    with atomic_path(target) as temp, open(temp, "w", encoding="utf-8", newline=newline) as out:
        yield out
