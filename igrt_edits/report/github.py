"""Findings as GitHub Actions workflow commands, shown as annotations on the run and the diff.

    ::error file=claims/june.csv,line=68,title=IGRT002 code-not-recognized-in-setting::G6015 ...

Errors become `::error`, warnings `::warning` and info `::notice`. `line` is the row of the
flagged line in its file (for an X12 file, the line its service segment starts on); paths are
relative to the working directory (the checkout in CI).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

import pandas as pd

from igrt_edits.report.frames import display_path

COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
DATA_ESCAPES = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
PROPERTY_ESCAPES = (*DATA_ESCAPES, (":", "%3A"), (",", "%2C"))


def _escape(values: pd.Series, escapes: tuple[tuple[str, str], ...]) -> pd.Series:
    for raw, escaped in escapes:
        values = values.str.replace(raw, escaped, regex=False)
    return values


def annotations(findings: pd.DataFrame, lines: Sequence[int] | None = None) -> pd.Series:
    """One workflow command per finding, in findings order (`lines`: the line of the file of
    each finding, where it is not its row)."""
    if findings.empty:
        return pd.Series(dtype=object)
    paths = {p: display_path(p) for p in findings["source_file"].unique()}
    file = findings["source_file"].map(paths)
    title = findings["rule_id"] + " " + findings["rule_name"]
    return (
        "::"
        + findings["severity"].map(COMMAND)
        + " file="
        + _escape(file, PROPERTY_ESCAPES)
        + ",line="
        + (findings["source_row"] if lines is None else pd.Series(lines, findings.index)).astype(
            str
        )
        + ",title="
        + _escape(title, PROPERTY_ESCAPES)
        + "::"
        + _escape(findings["message"], DATA_ESCAPES)
    )


def write_github(out: IO[str], findings: pd.DataFrame, lines: Sequence[int] | None = None) -> None:
    for command in annotations(findings, lines):
        out.write(command + "\n")
