"""The exit status of a check, from the findings it reports (after any baseline)."""

from __future__ import annotations

import pandas as pd

from igrt_edits.contract import EXIT_FINDINGS, EXIT_OK, SEVERITY_RANK


def exit_status(findings: pd.DataFrame, fail_on: str, *, exit_zero: bool = False) -> int:
    """1 when a reported finding is at or above `fail_on` (unless `exit_zero`), else 0.

    `fail_on` is a severity or "never". A run that could not be done exits 2 elsewhere;
    `exit_zero` does not hide that.
    """
    if exit_zero or fail_on == "never" or findings.empty:
        return EXIT_OK
    ranks = findings["severity"].map(SEVERITY_RANK)
    return EXIT_FINDINGS if bool((ranks >= SEVERITY_RANK[fail_on]).any()) else EXIT_OK
