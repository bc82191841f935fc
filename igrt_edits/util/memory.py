"""Process-wide memory settings for the command line (never applied on library import)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_KEEP_FREED_BYTES = 1 << 30
_reusing = False


def reuse_freed_memory() -> bool:
    """Have glibc's malloc keep large freed blocks for reuse instead of unmapping them.

    A check makes many short-lived numpy arrays of tens of megabytes. By default glibc maps
    each one fresh from the kernel and unmaps it when freed, so every use pays page faults
    and zeroing: measured on 10M lines, about 2 s of system time of a 12 s run, and half the
    page faults. Kept in the heap, a freed array's memory serves the next one (peak memory
    rose about 4%). Returns whether the setting took (False off glibc, e.g. macOS or musl).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    global _reusing
    _reusing = bool(mallopt(_M_MMAP_MAX, 0)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _KEEP_FREED_BYTES)
    )
    return _reusing


def release_freed_memory() -> None:
    """Between the phases of a run that keeps freed memory (see `reuse_freed_memory`), give
    what the last phase freed back to the system.

    numpy's arrays come from malloc's heap, Arrow's from its own pool, and neither reuses the
    other's freed memory: kept, what reading freed would stay resident under the findings
    built next. Within a phase the kept blocks still serve the next arrays.
    """
    if not _reusing:
        return
    import pyarrow as pa

    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    pa.default_memory_pool().release_unused()
