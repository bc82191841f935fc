"""The findings formats of `check --format`, chosen by name or by the output file's suffix."""

from __future__ import annotations

from pathlib import Path

from igrt_edits.errors import ConfigError
from igrt_edits.report.tabular import TABULAR_SUFFIXES

FORMATS = ("table", "json", "jsonl", "csv", "parquet", "sarif", "junit", "github", "xlsx", "html")
BINARY_FORMATS = {"parquet", "xlsx"}
FILE_FORMATS = {"xlsx"}
"""Formats written only to a named file (a workbook is written in place, in constant memory)."""
REPORT_FORMATS = ("xlsx", "html")
"""The analyst reports: they show the flagged lines' providers and charges."""
SUFFIX_FORMATS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".sarif": "sarif",
    ".xml": "junit",
    ".txt": "table",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
}


def format_for(fmt: str | None, output: str | None) -> str:
    """The format asked for; else the one `output`'s suffix names; else `table`."""
    if fmt:
        return fmt
    if output is None:
        return "table"
    name = Path(output).name.lower()
    if name.endswith(".sarif.json"):
        return "sarif"
    return SUFFIX_FORMATS.get(Path(name).suffix, "table")


def tabular_format(path: str, option: str, *, default: str | None = None) -> str:
    """csv or parquet for a tabular output file, from its suffix (an error when unknown)."""
    found = TABULAR_SUFFIXES.get(Path(path).suffix.lower(), default)
    if found is None:
        raise ConfigError(f"{option} {path}: name a .csv or .parquet file")
    return found
