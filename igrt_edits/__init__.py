"""igrt-edits: a claims-line billing edit linter for Image-Guided Radiation Therapy coding.

`igrt_edits.check(data)` checks claim lines from a notebook or a pipeline (see api.py); it is
imported on first use, so `import igrt_edits` stays cheap for the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from igrt_edits.version import __version__

__all__ = ["Result", "RunError", "__version__", "check"]

if TYPE_CHECKING:
    from igrt_edits.api import Result, check
    from igrt_edits.errors import RunError


def __getattr__(name: str) -> Any:
    if name in ("check", "Result"):
        from igrt_edits import api

        return getattr(api, name)
    if name == "RunError":
        from igrt_edits.errors import RunError

        return RunError
    raise AttributeError(f"module 'igrt_edits' has no attribute {name!r}")
