"""The command line's allocator setting takes on glibc and is skipped elsewhere."""

from __future__ import annotations

import platform
import subprocess
import sys


def test_reuse_freed_memory_takes_on_glibc_only() -> None:
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    # In a child, so this test process keeps its allocator as it was.
    code = "from igrt_edits.util.memory import reuse_freed_memory as r; print(r())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(glibc)
