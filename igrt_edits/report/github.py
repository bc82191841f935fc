"""Findings as GitHub Actions workflow commands, shown as annotations on the run and the diff.

    ::error file=claims/june.csv,line=68,title=IGRT002 code-not-recognized-in-setting::G6015 ...

Errors become `::error`, warnings `::warning` and info `::notice`. `line` is the row of the
flagged line in its file (for an X12 file, the line its service segment starts on); paths are
relative to the working directory (the checkout in CI).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.report.frames import display_path
from igrt_edits.rules.findings import text_column

COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
DATA_ESCAPES = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
PROPERTY_ESCAPES = (*DATA_ESCAPES, (":", "%3A"), (",", "%2C"))


def _escape(values: pa.Array, escapes: tuple[tuple[str, str], ...]) -> pa.Array:
    for raw, escaped in escapes:
        values = pc.replace_substring(values, raw, escaped)
    return values


def annotations(findings: pd.DataFrame, lines: Sequence[int] | None = None) -> pd.Series:
    """One workflow command per finding, in findings order (`lines`: the line of the file of
    each finding, where it is not its row)."""
    if findings.empty:
        return pd.Series(dtype=object)
    files = pc.dictionary_encode(text_column(findings["source_file"]))
    paths = pa.array([display_path(p) for p in files.dictionary.to_pylist()], pa.string())
    severities = pc.dictionary_encode(text_column(findings["severity"]))
    kinds = pa.array([COMMAND.get(s) for s in severities.dictionary.to_pylist()], pa.string())
    title = pc.binary_join_element_wise(
        text_column(findings["rule_id"]), text_column(findings["rule_name"]), " "
    )
    where = findings["source_row"].to_numpy(dtype=np.int64) if lines is None else lines
    row = pc.cast(pa.array(np.asarray(where, dtype=np.int64)), pa.string())
    commands = pc.binary_join_element_wise(
        "::",
        kinds.take(severities.indices),
        " file=",
        _escape(paths.take(files.indices), PROPERTY_ESCAPES),
        ",line=",
        row,
        ",title=",
        _escape(title, PROPERTY_ESCAPES),
        "::",
        _escape(text_column(findings["message"]), DATA_ESCAPES),
        "",
    )
    return pd.Series(commands.to_pylist(), dtype=object)


def write_github(out: IO[str], findings: pd.DataFrame, lines: Sequence[int] | None = None) -> None:
    for command in annotations(findings, lines):
        out.write(command + "\n")
