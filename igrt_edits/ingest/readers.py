"""Find input files and read them into Arrow tables with only the columns the run needs.

X12 837 files (content starting with an ISA segment) are read by `ingest.x12_lines` into the
same Extract, with the contract's column names and each line's segment number as its row.

A CSV's delimiter is detected from its header (or given); every column is read as text so the
loader, not the CSV parser, decides what a bad value is. Rows the parser cannot split into the
header's columns are kept aside with their row numbers. Parquet columns keep their types; the
normalizer casts them exactly or rejects the row.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from igrt_edits.errors import InputError
from igrt_edits.ingest import x12
from igrt_edits.ingest.columns import ColumnMap, is_contract_column, match_columns, normalize_name
from igrt_edits.ingest.x12_lines import COLUMNS as X12_LINE_COLUMNS
from igrt_edits.ingest.x12_lines import Flat, read_windows

CSV_SUFFIXES = {".csv", ".tsv", ".psv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
X12_SUFFIXES = {".837", ".837p", ".837i", ".x12", ".edi"}
"""Suffixes a directory's X12 files have (a file named on its own is detected by content)."""
DELIMITERS = (",", "|", "\t", ";")
# Leading bytes of files that are not CSV text, and what to tell the user about them.
NOT_CSV = (
    (b"\xff\xfe", "is UTF-16 text; save or export it as UTF-8"),
    (b"\xfe\xff", "is UTF-16 text; save or export it as UTF-8"),
    (b"\x1f\x8b", "is gzip-compressed; decompress it first"),
    (b"PK\x03\x04", "is a ZIP archive or an Excel workbook; extract it or save it as CSV"),
)
DELIMITER_NAMES = {",": "comma", "|": "pipe", "\t": "tab", ";": "semicolon"}


# Every contract column is read dictionary-encoded: value-level work (trimming an id, parsing a
# date, classifying a code) then runs once per distinct value, and ids are hashed only once.
# Passthrough columns are carried as they are.
@dataclass
class Extract:
    """One input file read for linting."""

    path: Path
    format: str
    columns: ColumnMap
    table: pa.Table
    """Columns renamed to canonical names; family members as `modifiers.0`, `modifiers.1`, ..."""
    source_rows: np.ndarray
    """Spreadsheet row number (header = 1) of each table row."""
    rows_read: int
    """Data rows in the file, including malformed ones."""
    malformed: list[tuple[int, str]] = field(default_factory=list)
    """(row number, reason) of rows the parser could not split into the header's columns."""
    size_bytes: int = 0
    delimiter: str | None = None
    positions: tuple[np.ndarray, np.ndarray] | None = None
    """X12: (line, column) of the file where each row's segment starts."""
    problems: tuple[pa.Array, pa.Array] | None = None
    """X12: (element, reason) per row for lines of a broken claim (null where none)."""


def discover(paths: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """Expand files, directories and globs into (claim files, skipped files), in a stable order.

    A directory contributes its CSV and Parquet files (recursively); other files in it are
    skipped and reported, not read. A named file is always read, whatever its suffix.
    """
    files: list[Path] = []
    skipped: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, ignored = _scan_directory(path)
            if not found:
                raise InputError(f"{raw}: the directory holds no CSV, Parquet or X12 files")
            files.extend(found)
            skipped.extend(ignored)
        elif path.exists():
            files.append(path)
        elif glob.has_magic(raw):
            matches = sorted(Path(m) for m in glob.glob(raw, recursive=True) if Path(m).is_file())
            if not matches:
                raise InputError(f"{raw}: no files match this pattern")
            files.extend(matches)
        else:
            raise InputError(f"{raw}: no such file or directory")
    return _first_spelling(files), skipped


def _first_spelling(files: list[Path]) -> list[Path]:
    """Drop repeats of a file named twice (e.g. by a directory and a glob)."""
    seen: set[Path] = set()
    kept = []
    for path in files:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            kept.append(path)
    return kept


def _scan_directory(directory: Path) -> tuple[list[Path], list[Path]]:
    found, ignored = [], []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith("."):
                continue
            suffix = path.suffix.lower()
            readable = CSV_SUFFIXES | PARQUET_SUFFIXES | X12_SUFFIXES
            (found if suffix in readable else ignored).append(path)
    return found, ignored


@dataclass
class ReadPlan:
    """How one file will be read: its format, header mapping and the columns to read."""

    path: Path
    format: str
    columns: ColumnMap
    wanted: list[str]
    size_bytes: int
    delimiter: str | None = None
    names: list[str] = field(default_factory=list)
    """CSV: the header's names, made unique."""
    types: dict[str, pa.DataType] = field(default_factory=dict)
    """CSV: the type each wanted column is read as."""
    dictionary: list[str] = field(default_factory=list)
    """Parquet: string columns read dictionary-encoded."""
    content: bytes | None = None
    """The file's bytes when they are already in memory (`path` then only names the file)."""

    def source(self) -> Path | pa.BufferReader:
        """What the Arrow readers open: the file, or its bytes."""
        return self.path if self.content is None else pa.BufferReader(self.content)


def plan_read(
    path: Path,
    *,
    user_map: Mapping[str, str | Sequence[str]] | None = None,
    delimiter: str | None = None,
    passthrough: bool = False,
    content: bytes | None = None,
) -> ReadPlan:
    """Inspect a file's header. Raises InputError when it cannot be read as a claims extract.

    With `content`, the file's bytes are read from memory and `path` only names the file (a
    cluster worker receives a file's bytes from the engine that stores it).
    """
    if content is None:
        try:
            size = path.stat().st_size
            with path.open("rb") as handle:
                head = handle.read(1 << 16)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    else:
        size, head = len(content), content[: 1 << 16]
    if size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); expected a CSV or Parquet extract")
    if x12.is_x12(head):
        return plan_x12(path, size, head, content)
    if head.startswith(b"PAR1"):
        plan = _plan_parquet(path, size, user_map, passthrough, content)
    elif path.suffix.lower() in PARQUET_SUFFIXES:
        raise InputError(f"{path}: not a Parquet file (no PAR1 header)")
    else:
        plan = _plan_csv(path, size, head, user_map, delimiter, passthrough)
    plan.content = content
    return plan


def _plan_parquet(path: Path, size: int, user_map, passthrough: bool, content) -> ReadPlan:
    try:
        schema = pq.read_schema(path if content is None else pa.BufferReader(content))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    _check_duplicate_headers(schema.names, path)
    columns = match_columns(schema.names, str(path), user_map)
    wanted = columns.source_columns() + (list(columns.passthrough) if passthrough else [])
    dictionary = [
        name
        for name in columns.source_columns()
        if pa.types.is_string(schema.field(name).type)
        or pa.types.is_large_string(schema.field(name).type)
    ]
    return ReadPlan(path, "parquet", columns, wanted, size, dictionary=dictionary)


def _plan_csv(path: Path, size: int, head: bytes, user_map, delimiter, passthrough) -> ReadPlan:
    for magic, what in NOT_CSV:
        if head.startswith(magic):
            raise InputError(f"{path}: not a CSV file: it {what}")
    if b"\x00" in head:
        raise InputError(f"{path}: not a CSV file (binary content)")
    segment = x12.looks_like_headless_x12(head)
    if segment:
        raise InputError(
            f"{path}: reads like X12 but does not start with an ISA segment (it starts with"
            f" {segment}); an X12 interchange begins with its ISA header"
        )
    header_line = _header_line(head)
    if not header_line.strip():
        raise InputError(f"{path}: the first line is blank; expected a header row of column names")
    sniffed = sniff_delimiter(header_line)
    headers = _split_header(header_line, delimiter or sniffed)
    if delimiter and len(headers) == 1 and len(_split_header(header_line, sniffed)) > 1:
        raise InputError(
            f"{path}: the header has no {_delimiter_name(delimiter)} in it; the file looks"
            f" {_delimiter_name(sniffed)}-delimited (leave out the delimiter option to detect it)"
        )
    delimiter = delimiter or sniffed
    _check_duplicate_headers(headers, path)
    names = _unique_names(headers)
    columns = match_columns(names, str(path), user_map)
    wanted = columns.source_columns() + (list(columns.passthrough) if passthrough else [])
    contract = set(columns.source_columns())
    types = {
        name: pa.dictionary(pa.int32(), pa.binary()) if name in contract else pa.binary()
        for name in wanted
    }
    return ReadPlan(path, "csv", columns, wanted, size, delimiter, names, types)


def iter_extracts(plan: ReadPlan, batch_lines: int, whole: bool = False) -> Iterator[Extract]:
    """Read a file in batches of about `batch_lines` lines.

    With `whole`, a CSV file is parsed at once on all cores and then cut into batches (for a
    run that holds its lines in memory anyway); otherwise it is parsed block by block.
    """
    if plan.format == "x12":
        yield from iter_x12(plan)
    elif plan.format == "parquet":
        yield from _iter_parquet(plan, batch_lines)
    elif whole:
        yield from _slices(_read_csv(plan), batch_lines)
    else:
        yield from _grouped(_iter_csv(plan), batch_lines)


def _read_csv(plan: ReadPlan) -> Extract:
    malformed: list[tuple[int | None, str]] = []
    read, parse, convert = _csv_options(plan, malformed, use_threads=True, block_size=64 << 20)
    table = _parse_csv(plan, read, parse, convert)
    if any(number is None for number, _ in malformed):
        # Row numbers of malformed rows are only known to a single-threaded parse.
        malformed.clear()
        read.use_threads = False
        table = _parse_csv(plan, read, parse, convert)
    bad = np.array(sorted(n for n, _ in malformed), dtype=np.int64)
    every = np.arange(2, table.num_rows + len(bad) + 2, dtype=np.int64)
    rows = np.setdiff1d(every, bad, assume_unique=True) if len(bad) else every
    return _extract(plan, table, rows, len(every), sorted(malformed))


def _parse_csv(plan: ReadPlan, read, parse, convert) -> pa.Table:
    try:
        return pa_csv.read_csv(
            plan.source(), read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as exc:
        raise InputError(f"{plan.path}: not a readable CSV file ({_first_line(exc)})") from exc


def _slices(whole: Extract, batch_lines: int) -> Iterator[Extract]:
    """A whole-file extract cut into batches; each malformed row goes with the batch it is in."""
    count = whole.table.num_rows
    starts = list(range(0, count, batch_lines)) or [0]
    ends = [min(start + batch_lines, count) for start in starts]
    lasts = np.array([whole.source_rows[end - 1] if end else 0 for end in ends], dtype=np.int64)
    numbers = np.array([n for n, _ in whole.malformed], dtype=np.int64)
    batch_of = np.minimum(np.searchsorted(lasts, numbers), len(starts) - 1)
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        mine = [m for m, b in zip(whole.malformed, batch_of, strict=True) if b == index]
        yield replace(
            whole,
            table=whole.table.slice(start, end - start),
            source_rows=whole.source_rows[start:end],
            rows_read=end - start + len(mine),
            malformed=mine,
        )


def _extract(plan: ReadPlan, table: pa.Table, rows: np.ndarray, read: int, malformed=()) -> Extract:
    return Extract(
        path=plan.path,
        format=plan.format,
        columns=plan.columns,
        table=rename_columns(table, plan.columns),
        source_rows=rows,
        rows_read=read,
        malformed=list(malformed),
        size_bytes=plan.size_bytes,
        delimiter=plan.delimiter,
    )


def _iter_parquet(plan: ReadPlan, batch_lines: int) -> Iterator[Extract]:
    try:
        # pre_buffer would keep every row group it read until the file is closed.
        parquet = pq.ParquetFile(plan.source(), read_dictionary=plan.dictionary, pre_buffer=False)
        start = 2
        for batch in parquet.iter_batches(batch_size=batch_lines, columns=plan.wanted):
            rows = batch.num_rows
            table = pa.Table.from_batches([batch])
            yield _extract(plan, table, np.arange(start, start + rows, dtype=np.int64), rows)
            start += rows
        if start == 2:  # a file with no rows is one empty extract
            empty = parquet.schema_arrow.empty_table().select(plan.wanted)
            yield _extract(plan, empty, np.zeros(0, np.int64), 0)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{plan.path}: cannot be read ({exc})") from exc


def _grouped(extracts: Iterator[Extract], batch_lines: int) -> Iterator[Extract]:
    """Consecutive extracts of one file joined into batches of at least `batch_lines` lines."""
    pending: list[Extract] = []
    for extract in extracts:
        pending.append(extract)
        if sum(e.table.num_rows for e in pending) >= batch_lines:
            yield _join(pending)
            pending = []
    if pending:
        yield _join(pending)


def _join(extracts: list[Extract]) -> Extract:
    if len(extracts) == 1:
        return extracts[0]
    return replace(
        extracts[0],
        table=pa.concat_tables(e.table for e in extracts),
        source_rows=np.concatenate([e.source_rows for e in extracts]),
        rows_read=sum(e.rows_read for e in extracts),
        malformed=[m for e in extracts for m in e.malformed],
    )


def _iter_csv(plan: ReadPlan) -> Iterator[Extract]:
    """Batches of a CSV with spreadsheet row numbers, malformed rows numbered in place.

    The single-threaded streaming parser reports malformed rows (with their row numbers) while
    parsing a block, before that block's lines are delivered, so each batch's rows are the next
    row numbers that were not reported malformed.
    """
    malformed: list[tuple[int, str]] = []
    # A block must hold the longest row (16 MB blocks take fields of several megabytes); the
    # reader reads some blocks ahead, so larger blocks would cost memory.
    reader = _open_csv(plan, malformed, block_size=16 << 20)
    next_row, reported = 2, 0
    try:
        for batch in reader:
            rows = batch.num_rows
            bad = np.array([n for n, _ in malformed], dtype=np.int64)
            candidates = np.arange(next_row, next_row + rows + len(bad), dtype=np.int64)
            numbers = candidates[~np.isin(candidates, bad)][:rows]
            last = numbers[-1] if rows else next_row - 1
            new = [(n, r) for n, r in malformed[reported:] if n <= last]
            reported += len(new)
            read = rows + len(new)
            next_row = last + 1
            yield _extract(plan, pa.Table.from_batches([batch]), numbers, read, new)
    except pa.ArrowInvalid as exc:
        raise InputError(f"{plan.path}: not a readable CSV file ({_first_line(exc)})") from exc
    if reported < len(malformed) or next_row == 2:  # rows after the last line, or no lines
        yield _extract(
            plan,
            pa.Table.from_batches([], reader.schema),
            np.zeros(0, np.int64),
            len(malformed) - reported,
            malformed[reported:],
        )


def _delimiter_name(delimiter: str) -> str:
    return DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _csv_options(plan: ReadPlan, malformed: list, *, use_threads: bool, block_size: int | None):
    def on_invalid(row) -> str:
        count = row.actual_columns
        reason = (
            f"has {count} field{'' if count == 1 else 's'} where the header has"
            f" {row.expected_columns} (a row cut short, shifted or in another delimiter)"
        )
        malformed.append((row.number, reason))
        return "skip"

    read = pa_csv.ReadOptions(column_names=plan.names, skip_rows=1, use_threads=use_threads)
    if block_size:
        read.block_size = block_size
    parse = pa_csv.ParseOptions(
        delimiter=plan.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
    )
    convert = pa_csv.ConvertOptions(
        include_columns=plan.wanted,
        column_types=plan.types,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    return read, parse, convert


def _open_csv(plan: ReadPlan, malformed: list, block_size: int):
    read, parse, convert = _csv_options(plan, malformed, use_threads=False, block_size=block_size)
    try:
        return pa_csv.open_csv(
            plan.source(), read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as exc:
        raise InputError(f"{plan.path}: not a readable CSV file ({_first_line(exc)})") from exc


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _header_line(head: bytes) -> str:
    text = head.removeprefix(b"\xef\xbb\xbf")
    line = text.split(b"\n", 1)[0].rstrip(b"\r")
    return line.decode("utf-8", errors="replace")


def sniff_delimiter(header_line: str) -> str:
    """The candidate delimiter that splits the header into the most fields (comma on a tie)."""
    counts = {d: len(_split_header(header_line, d)) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best


def _split_header(line: str, delimiter: str) -> list[str]:
    """Split a header line, honouring double quotes."""
    fields, current, quoted = [], [], False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return [f.strip() for f in fields]


def _check_duplicate_headers(headers: Sequence[str], path: Path) -> None:
    counts = Counter(normalize_name(h) for h in headers)
    for name, count in counts.items():
        if count > 1 and is_contract_column(name):
            raise InputError(
                f"{path}: column {name!r} appears {count} times in the header;"
                " rename or drop the extra one"
            )


def _unique_names(headers: Sequence[str]) -> list[str]:
    seen: Counter[str] = Counter()
    names = []
    for header in headers:
        seen[header] += 1
        names.append(header if seen[header] == 1 else f"{header}__{seen[header]}")
    return names


def _renames(columns: ColumnMap) -> dict[str, str]:
    """canonical (or `family.i`) -> source column name."""
    renames = dict(columns.single)
    for family, members in (*columns.families.items(), *columns.composites.items()):
        for i, name in enumerate(members):
            renames[f"{family}.{i}"] = name
    return renames


def rename_columns(table: pa.Table, columns: ColumnMap) -> pa.Table:
    """Source column names replaced by canonical ones (`family.i` for family members)."""
    to_canonical = {v: k for k, v in _renames(columns).items()}
    return table.rename_columns([to_canonical.get(n, n) for n in table.column_names])


X12_COLUMNS = ColumnMap(
    single={name: name for name in X12_LINE_COLUMNS if "." not in name},
    families={
        "modifiers": tuple(n for n in X12_LINE_COLUMNS if n.startswith("modifiers.")),
        "diagnosis_codes": ("diagnosis_codes.0",),
    },
)
"""An 837's lines come with the contract's names: no header to match, nothing to map."""


def plan_x12(path: Path, size: int, head: bytes, content: bytes | None) -> ReadPlan:
    """Check the first ISA segment (InputError if it cannot be read) and plan the read."""
    x12.read_isa(head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n"), f"{path}: line 1")
    return ReadPlan(path, "x12", X12_COLUMNS, list(X12_LINE_COLUMNS), size, content=content)


def iter_x12(plan: ReadPlan, block_bytes: int = x12.BLOCK_BYTES) -> Iterator[Extract]:
    """The claim lines of an 837 file as extracts, one per window of about `block_bytes`."""
    for flat in read_windows(plan.path, plan.content, block_bytes):
        yield _x12_extract(plan, flat)


def _x12_extract(plan: ReadPlan, flat: Flat) -> Extract:
    return Extract(
        path=plan.path,
        format="x12",
        columns=plan.columns,
        table=flat.table,
        source_rows=flat.segment,
        rows_read=flat.table.num_rows,
        size_bytes=plan.size_bytes,
        positions=(flat.line, flat.column),
        problems=(flat.problem_column, flat.problem_reason),
    )
