"""Validate and normalize the lines of one extract.

Every row either comes out as a normalized line or goes to the rejects with the column, the
value and the reason. Checks are vector operations; value-level work (parsing a date,
upper-casing a code) runs on the distinct values of a column, and reason texts are built only
for the rows that fail.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.contract import REJECT_SCHEMA
from igrt_edits.errors import InputError
from igrt_edits.ingest.dates import parse_dates
from igrt_edits.ingest.readers import Extract
from igrt_edits.util.arrow import (
    as_dictionary,
    indices_of,
    map_values,
    single_chunk,
    spread,
    text_values,
)

MODIFIER_SPLIT = re.compile(r"[\s,:|;]+")
DIAGNOSIS_SPLIT = re.compile(r"[\s,;|]+")
TAG_SPLIT = re.compile(r"[\s,;]+")

CLAIM_TYPES = {
    "professional": "professional",
    "p": "professional",
    "837p": "professional",
    "cms-1500": "professional",
    "cms1500": "professional",
    "institutional": "institutional",
    "i": "institutional",
    "837i": "institutional",
    "ub-04": "institutional",
    "ub04": "institutional",
    # NCH claim type codes of the CMS research (RIF/CCW) files
    **dict.fromkeys(("10", "20", "30", "40", "50", "60", "61"), "institutional"),
    **dict.fromkeys(("71", "72", "81", "82"), "professional"),
}
SETTINGS = {
    "opps": "OPPS",
    "hopps": "OPPS",
    "hopd": "OPPS",
    "mpfs": "MPFS",
    "pfs": "MPFS",
    "other": "OTHER",
}
MAX_LINE_NUMBER = 2**31 - 1
SHOWN_CHARS = 40

TEXT = pa.dictionary(pa.int32(), pa.string())


Reason = pa.Array | str | Callable[[], pa.Array]
"""Why rows fail: one text, a per-row array, or a function making that array when needed."""


class Problems:
    """Row problems found by the checks of one extract."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.found: list[tuple[str, np.ndarray, pa.Array | str]] = []
        self.given: tuple[np.ndarray, pa.Array, pa.Array] | None = None

    def take_reader_problems(self, columns: pa.Array, reasons: pa.Array) -> None:
        """Rows the reader found broken (an 837 claim that cannot be read): they fail with the
        reader's column and reason alone, whatever else the checks find in them."""
        mask = np.asarray(reasons.is_valid())
        if mask.any():
            self.given = (mask, columns, reasons)

    def add(self, column: str, mask: np.ndarray, reason: Reason) -> None:
        """Rows under `mask` fail; `reason` is a constant, a per-row (maybe dictionary) array,
        or a function making that array (called only when some row fails)."""
        if mask.any():
            self.found.append((column, mask, reason() if callable(reason) else reason))

    def failed(self, column: str) -> np.ndarray:
        out = np.zeros(self.rows, dtype=bool)
        for name, mask, _ in self.found:
            if name == column:
                out |= mask
        return out

    def mask(self) -> np.ndarray:
        out = np.zeros(self.rows, dtype=bool) if self.given is None else self.given[0].copy()
        for _, mask, _ in self.found:
            out |= mask
        return out

    def describe(self, rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """(first failing column, all reasons joined) for the given row positions."""
        if self.given is None:
            return self._describe(rows)
        given = self.given[0][rows]
        first, joined = self._describe(rows[~given])
        at = np.full(len(rows), -1, np.int64)
        at[~given] = np.arange(int((~given).sum()))
        spread_back = pa.array(np.maximum(at, 0), pa.int64(), mask=at < 0)
        take = pa.array(rows, type=pa.int64())
        first = pc.coalesce(self.given[1].take(take), first.take(spread_back))
        joined = pc.coalesce(self.given[2].take(take), joined.take(spread_back))
        return first, joined

    def _describe(self, rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
        if not self.found:
            none = pa.nulls(len(rows), pa.string())
            return none, none
        take = pa.array(rows, type=pa.int64())
        columns, reasons = [], []
        for column, mask, reason in self.found:
            failing = pa.array(mask[rows])
            if isinstance(reason, str):
                text = pa.array(np.where(mask[rows], reason, None), type=pa.string())
            else:
                text = reason.take(take)
                text = text.cast(pa.string()) if pa.types.is_dictionary(text.type) else text
                text = pc.if_else(failing, text, pa.scalar(None, pa.string()))
            reasons.append(text)
            columns.append(pa.array(np.where(mask[rows], column, None), type=pa.string()))
        first = pc.coalesce(*columns)
        joined = pc.binary_join_element_wise(*reasons, "; ", null_handling="skip")
        return first, joined


@dataclass
class Part:
    """The normalized lines and the rejects of one extract."""

    lines: pa.Table
    rejects: pa.Table
    rows_read: int
    has_diagnosis: bool
    format: str
    size_bytes: int


def normalize_extract(extract: Extract, file_index: int) -> Part:
    """Check every row of one extract; return its normalized lines and its rejects."""
    try:
        return _normalize(extract, file_index)
    except InputError as exc:  # a column of a type that cannot hold its field: name the file
        raise InputError(f"{extract.path}: {exc}") from exc


def _normalize(extract: Extract, file_index: int) -> Part:
    table = extract.table.unify_dictionaries()
    rows = table.num_rows
    problems = Problems(rows)
    if extract.problems is not None:
        problems.take_reader_problems(*extract.problems)
    raw = {name: single_chunk(table.column(name)) for name in table.column_names}
    for name, parts in extract.columns.composites.items():
        raw[name] = _joined([raw[f"{name}.{i}"] for i in range(len(parts))], name, problems)
    out: dict[str, pa.Array] = {
        "claim_id": _required_text(raw["claim_id"], "claim_id", problems),
        "patient_id": _required_text(raw["patient_id"], "patient_id", problems),
        "line_number": _line_number(raw["line_number"], problems),
        "service_date": _dates(raw["service_date"], "service_date", problems, required=True),
        "procedure_code": _procedure_code(raw["procedure_code"], problems),
        "modifiers": _modifiers([raw[c] for c in _family(table, "modifiers")], rows, problems),
        "units": _number(raw.get("units"), "units", rows, problems, default=1.0, minimum=0.0),
    }
    for i, name in enumerate(_family(table, "diagnosis_codes")):
        out[f"diagnosis_codes.{i}"] = _diagnoses(raw[name], problems)
    out |= {
        "claim_type": _vocabulary(raw.get("claim_type"), "claim_type", CLAIM_TYPES, rows, problems),
        "setting": _vocabulary(raw.get("setting"), "setting", SETTINGS, rows, problems),
        "bill_type": _digits(raw.get("bill_type"), "bill_type", (3, 4), rows, problems),
        "place_of_service": _digits(
            raw.get("place_of_service"), "place_of_service", (1, 2), rows, problems
        ),
        "payer": _plain(raw.get("payer"), "payer", rows, problems),
        "line_of_business": _plain(
            raw.get("line_of_business"), "line_of_business", rows, problems, lower=True
        ),
        "beam_modality": _plain(
            raw.get("beam_modality"), "beam_modality", rows, problems, lower=True
        ),
        "treatment_indicators": _tags(raw.get("treatment_indicators"), rows, problems),
        **_age(raw, out["service_date"], rows, problems),
        "provider_id": _plain(raw.get("provider_id"), "provider_id", rows, problems),
        "charge_amount": _number(raw.get("charge_amount"), "charge_amount", rows, problems),
    }
    out |= {name: raw[name] for name in extract.columns.passthrough if name in raw}
    bad = problems.mask()
    lines = pa.table(out)
    if bad.any():
        lines = lines.filter(pa.array(~bad))
    lines = lines.append_column("_file", pa.array(np.full(lines.num_rows, file_index, np.int32)))
    lines = lines.append_column("_row", pa.array(extract.source_rows[~bad]))
    return Part(
        lines=lines,
        rejects=_rejects(extract, raw, problems, np.flatnonzero(bad)),
        rows_read=extract.rows_read,
        has_diagnosis="diagnosis_codes" in extract.columns.families,
        format=extract.format,
        size_bytes=extract.size_bytes,
    )


def _joined(parts: list[pa.Array], column: str, problems: Problems) -> pa.Array:
    """A field composed of several columns: their trimmed text joined (null if any is blank)."""
    texts = [pc.cast(_trimmed(decode_text(p, column, problems)), pa.string()) for p in parts]
    texts = [pc.if_else(pc.equal(t, ""), pa.scalar(None, pa.string()), t) for t in texts]
    return pc.binary_join_element_wise(*texts, "")


def _family(table: pa.Table, family: str) -> list[str]:
    return [n for n in table.column_names if n.startswith(f"{family}.")]


def _rejects(extract: Extract, raw, problems: Problems, rows: np.ndarray) -> pa.Table:
    column, reason = problems.describe(rows)
    file = str(extract.path)
    parsed = pa.table(
        {
            "source_file": pa.array([file] * len(rows), pa.string()),
            "source_row": pa.array(extract.source_rows[rows], pa.int64()),
            "claim_id": raw_text(raw.get("claim_id"), rows),
            "line_number": raw_text(raw.get("line_number"), rows),
            "column": column,
            "reason": reason,
        },
        schema=REJECT_SCHEMA,
    )
    if not extract.malformed:
        return parsed
    numbers, reasons = zip(*extract.malformed, strict=True)
    malformed = pa.table(
        {
            "source_file": pa.array([file] * len(numbers), pa.string()),
            "source_row": pa.array(numbers, pa.int64()),
            "claim_id": pa.nulls(len(numbers), pa.string()),
            "line_number": pa.nulls(len(numbers), pa.string()),
            "column": pa.nulls(len(numbers), pa.string()),
            "reason": pa.array(reasons, pa.string()),
        },
        schema=REJECT_SCHEMA,
    )
    return pa.concat_tables([parsed, malformed]).sort_by("source_row")


def raw_text(array: pa.Array | None, rows: np.ndarray) -> pa.Array:
    """The given rows of a column as text, as the file had them (bad bytes replaced)."""
    if array is None:
        return pa.nulls(len(rows), pa.string())
    taken = array.take(pa.array(rows, pa.int64()))
    if pa.types.is_dictionary(taken.type):
        taken = taken.cast(taken.type.value_type)
    if pa.types.is_binary(taken.type) or pa.types.is_large_binary(taken.type):
        values = [
            v.decode("utf-8", "replace") if v is not None else None for v in taken.to_pylist()
        ]
        return pa.array(values, pa.string())
    return taken.cast(pa.string())


# --- text ----------------------------------------------------------------------------------------


def _value_type(array: pa.Array) -> pa.DataType:
    return array.type.value_type if pa.types.is_dictionary(array.type) else array.type


def decode_text(array: pa.Array, column: str, problems: Problems) -> pa.Array:
    """A string (or dictionary<string>) array; bytes that are not UTF-8 fail their row."""
    value_type = _value_type(array)
    if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
        return array
    if pa.types.is_null(value_type):  # an all-null Parquet column: every value is blank
        return pa.nulls(len(array), pa.string())
    if pa.types.is_binary(value_type) or pa.types.is_large_binary(value_type):
        return _decode_binary(array, column, problems)
    if pa.types.is_integer(value_type):
        if pa.types.is_dictionary(array.type):
            return map_values(array, lambda v: v.cast(pa.string()))
        return array.cast(pa.string())
    if pa.types.is_floating(value_type) or pa.types.is_decimal(value_type):
        plain = array.cast(value_type) if pa.types.is_dictionary(array.type) else array
        return _whole_numbers_as_text(plain.cast(pa.float64()), column, problems)
    raise InputError(
        f"column {column!r} has type {value_type}, which cannot hold its values"
        " (expected text, whole numbers or dates)"
    )


def _decode_binary(array: pa.Array, column: str, problems: Problems) -> pa.Array:
    if pa.types.is_dictionary(array.type):
        try:
            return pa.DictionaryArray.from_arrays(array.indices, array.dictionary.cast(pa.string()))
        except pa.ArrowInvalid:
            good, values = _utf8_or_null(array.dictionary)
            problems.add(column, ~spread(array, good, True), f"{column} is not valid UTF-8 text")
            return map_values(pa.DictionaryArray.from_arrays(array.indices, values), lambda v: v)
    try:
        return array.cast(pa.string())
    except pa.ArrowInvalid:
        good, values = _utf8_or_null(array)
        problems.add(column, ~good, f"{column} is not valid UTF-8 text")
        return values


def _utf8_or_null(array: pa.Array) -> tuple[np.ndarray, pa.Array]:
    # Only reached when a column holds bytes that are not UTF-8: rare, so plain Python is fine.
    decoded, good = [], []
    for value in array.to_pylist():
        try:
            decoded.append(None if value is None else value.decode("utf-8"))
            good.append(True)
        except UnicodeDecodeError:
            decoded.append(None)
            good.append(False)
    return np.array(good, dtype=bool), pa.array(decoded, pa.string())


def _whole_numbers_as_text(array: pa.Array, column: str, problems: Problems) -> pa.Array:
    present = np.asarray(array.is_valid())
    values = np.asarray(pc.fill_null(array, 0.0))
    whole = np.isfinite(values) & (np.floor(values) == values)
    problems.add(column, present & ~whole, f"{column} is not a whole number")
    ints = pa.array(np.where(whole, values, 0).astype(np.int64), mask=~(whole & present))
    return ints.cast(pa.string())


def _clean(values: pa.Array, upper: bool = False, lower: bool = False) -> pa.Array:
    """Trimmed (and re-cased) strings with blanks as null."""
    values = pc.utf8_trim_whitespace(values)
    if upper:
        values = pc.utf8_upper(values)
    if lower:
        values = pc.utf8_lower(values)
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _trimmed(array: pa.Array, upper: bool = False, lower: bool = False) -> pa.DictionaryArray:
    return map_values(as_dictionary(array), lambda v: _clean(v, upper, lower))


def _blank(array: pa.Array) -> np.ndarray:
    return ~np.asarray(array.is_valid())


def _absent(rows: int) -> pa.DictionaryArray:
    return pa.nulls(rows, TEXT)


def _required_text(array: pa.Array, column: str, problems: Problems) -> pa.DictionaryArray:
    """Trimmed ids, dictionary-encoded: each distinct id is hashed, decoded and trimmed once."""
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array, null_encoding="mask")
    ids = _trimmed(decode_text(array, column, problems))
    problems.add(column, _blank(ids) & ~problems.failed(column), f"{column} is blank")
    return ids


def _plain(array, column: str, rows: int, problems: Problems, lower: bool = False) -> pa.Array:
    if array is None:
        return _absent(rows)
    return _trimmed(decode_text(array, column, problems), lower=lower)


def _per_value_reason(
    array: pa.DictionaryArray, column: str, problem: str
) -> Callable[[], pa.Array]:
    """`column 'value' problem` per distinct value, as a dictionary array aligned with lines.

    Made only if a row fails: most columns of most extracts have no bad value, and for a
    column like charge_amount nearly every line has its own value.
    """

    def reason() -> pa.Array:
        values = shown(pc.fill_null(array.dictionary.cast(pa.string()), ""))
        per_value = pc.binary_join_element_wise(f"{column} '", values, f"' {problem}", "")
        return pa.DictionaryArray.from_arrays(array.indices, per_value)

    return reason


# --- codes ---------------------------------------------------------------------------------------


def _procedure_code(array: pa.Array, problems: Problems) -> pa.DictionaryArray:
    codes = _trimmed(decode_text(array, "procedure_code", problems), upper=True)
    shape = np.asarray(
        pc.fill_null(pc.match_substring_regex(codes.dictionary, r"^[A-Z0-9]{5}$"), False)
    )
    blank = _blank(codes) & ~problems.failed("procedure_code")
    problems.add("procedure_code", blank, "procedure_code is blank")
    problems.add(
        "procedure_code",
        ~spread(codes, shape, True),
        _per_value_reason(codes, "procedure_code", "is not a 5-character HCPCS/CPT code"),
    )
    return codes


def shown(values: pa.Array, limit: int = SHOWN_CHARS) -> pa.Array:
    """Values cut to `limit` characters (with "...") for messages: a reason stays one line."""
    cut = pc.utf8_slice_codeunits(values, 0, limit)
    long = pc.greater(pc.utf8_length(values), limit)
    cut = pc.if_else(long, pc.binary_join_element_wise(cut, "...", ""), cut)
    return pc.replace_substring_regex(cut, r"[\r\n\t]", " ")


def _modifiers(arrays: list[pa.Array], rows: int, problems: Problems) -> pa.DictionaryArray:
    """One normalized `TC,59` string per line from a delimited column and/or a family."""
    if not arrays:
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array([""]))
    parts = [as_dictionary(decode_text(a, "modifiers", problems)) for a in arrays]
    combined = combine_token_columns(parts, MODIFIER_SPLIT, upper=True)
    tokens = [t.split(",") if t else [] for t in text_values(combined)]
    bad_token = np.array([any(len(x) != 2 or not x.isalnum() for x in t) for t in tokens], bool)
    too_many = np.array([len(t) > 4 for t in tokens], bool)
    problems.add(
        "modifiers",
        spread(combined, bad_token, False),
        _per_value_reason(combined, "modifiers", "holds a modifier that is not two characters"),
    )
    problems.add(
        "modifiers",
        spread(combined, too_many, False),
        _per_value_reason(combined, "modifiers", "holds more than four modifiers"),
    )
    return combined


def combine_token_columns(
    parts: list[pa.DictionaryArray], split: re.Pattern[str], upper: bool = False
) -> pa.DictionaryArray:
    """Join the tokens of several dictionary columns per line into one `A,B,C` dictionary column.

    Tokens are split on `split`, trimmed and de-duplicated in order of appearance. The join runs
    once per distinct combination of values, found by factorizing the index columns.
    """
    if len(parts) == 1:  # one column: only its distinct values need re-joining
        return map_values(parts[0], lambda v: _join_tokens([v.to_pylist()], split, upper))
    key, combos = _combinations(
        [indices_of(p) for p in parts], [len(p.dictionary) + 1 for p in parts]
    )
    values = [np.array([*text_values(p), ""], dtype=object) for p in parts]
    texts = _join_tokens([list(v[combos[:, i]]) for i, v in enumerate(values)], split, upper)
    mapped = pc.dictionary_encode(texts)
    return pa.DictionaryArray.from_arrays(mapped.indices.take(pa.array(key)), mapped.dictionary)


def join_diagnoses(lines: pa.Table) -> pa.DictionaryArray:
    """Each line's diagnosis codes from all its diagnosis columns (`diagnosis_codes.N`) as one
    `C50912,Z923` value, null for a line without any (or a table without such columns)."""
    parts = [
        as_dictionary(single_chunk(lines.column(n)))
        for n in lines.column_names
        if n.startswith("diagnosis_codes.")
    ]
    if not parts:
        return pa.nulls(lines.num_rows, TEXT)
    joined = combine_token_columns(parts, DIAGNOSIS_SPLIT)
    blank = spread(joined, np.asarray(pc.fill_null(pc.equal(joined.dictionary, ""), True)), True)
    indices = np.where(blank, 0, indices_of(joined)).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(indices, mask=blank), joined.dictionary)


def _join_tokens(columns: list[list[str | None]], split: re.Pattern[str], upper: bool) -> pa.Array:
    """Per position, the tokens of the values in `columns`, de-duplicated and joined by commas."""
    texts = []
    for values in zip(*columns, strict=True):
        seen: dict[str, None] = {}
        for value in values:
            for token in split.split(value or ""):
                if token:
                    seen.setdefault(token.upper() if upper else token, None)
        texts.append(",".join(seen))
    return pa.array(texts, pa.string())


def _combinations(indices: list[np.ndarray], widths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(combination number per line, the distinct index tuples) of several index columns.

    Numbered in order of first appearance. The columns are folded into one integer key and
    factorized once while the key fits 62 bits (the widths are dictionary sizes: small).
    """
    if np.prod([float(w) for w in widths]) < 2.0**62:
        strides = np.cumprod([1, *widths[:0:-1]])[::-1].astype(np.int64)
        combined = np.zeros(len(indices[0]), dtype=np.int64)
        for idx, stride in zip(indices, strides, strict=True):
            combined += idx.astype(np.int64) * stride
        key, merged = pd.factorize(combined, sort=False)
        combos = np.stack([(merged // s) % w for s, w in zip(strides, widths, strict=True)], 1)
        return key, combos
    key, first = pd.factorize(indices[0], sort=False)
    combos = first.reshape(-1, 1)
    for idx, width in zip(indices[1:], widths[1:], strict=True):
        key, merged = pd.factorize(key.astype(np.int64) * width + idx, sort=False)
        combos = np.hstack([combos[merged // width], (merged % width).reshape(-1, 1)])
    return key, combos


def _diagnoses(array: pa.Array, problems: Problems) -> pa.DictionaryArray:
    """Normalized `C50912,Z923` strings (upper case, no dots) per distinct value."""

    def clean(values: pa.Array) -> pa.Array:
        values = pc.utf8_upper(pc.replace_substring(values, ".", ""))
        values = pc.utf8_trim(pc.replace_substring_regex(values, DIAGNOSIS_SPLIT.pattern, ","), ",")
        return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)

    return map_values(as_dictionary(decode_text(array, "diagnosis_codes", problems)), clean)


def _tags(array, rows: int, problems: Problems) -> pa.DictionaryArray:
    if array is None:
        return _absent(rows)

    def clean(values: pa.Array) -> pa.Array:
        values = pc.utf8_lower(pc.utf8_trim_whitespace(values))
        values = pc.utf8_trim(pc.replace_substring_regex(values, TAG_SPLIT.pattern, ","), ",")
        return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)

    return map_values(as_dictionary(decode_text(array, "treatment_indicators", problems)), clean)


def _vocabulary(array, column: str, vocabulary: dict[str, str], rows: int, problems: Problems):
    """Values mapped to their canonical spelling; a value outside the vocabulary fails its row."""
    if array is None:
        return _absent(rows)
    text = _trimmed(decode_text(array, column, problems), lower=True)
    known = pa.array(list(vocabulary), pa.string())
    canonical = pa.array(list(vocabulary.values()), pa.string())
    unknown = np.asarray(pc.is_null(pc.index_in(text.dictionary, value_set=known)))
    unknown &= np.asarray(text.dictionary.is_valid())
    allowed = ", ".join(dict.fromkeys(vocabulary.values()))
    problems.add(
        column,
        spread(text, unknown, False),
        _per_value_reason(text, column, f"is not one of: {allowed}"),
    )
    return map_values(text, lambda v: canonical.take(pc.index_in(v, value_set=known)))


def _digits(array, column: str, lengths: tuple[int, int], rows: int, problems: Problems):
    """Codes of 1-2 (place of service) or 3-4 (bill type) digits, zero-padded to the longer."""
    if array is None:
        return _absent(rows)
    text = _trimmed(decode_text(array, column, problems))
    pattern = rf"^\d{{{lengths[0]},{lengths[1]}}}$"
    ok = np.asarray(pc.fill_null(pc.match_substring_regex(text.dictionary, pattern), True))
    problems.add(
        column,
        spread(text, ~ok, False),
        _per_value_reason(text, column, f"is not a {lengths[0]}-{lengths[1]} digit code"),
    )
    return map_values(text, lambda v: pc.utf8_lpad(v, lengths[1], "0"))


# --- numbers and dates -----------------------------------------------------------------------


def _line_number(array: pa.Array, problems: Problems) -> pa.Array:
    values = _number(array, "line_number", len(array), problems, minimum=1.0, required=True)
    numbers = np.asarray(pc.fill_null(values, 1.0))
    finite = np.isfinite(numbers)
    fraction = finite & (np.floor(numbers) != numbers)
    problems.add("line_number", fraction, "line_number is not a whole number")
    # A huge number (a shifted column, an id) would overflow the integer keys built from it.
    too_big = finite & (numbers > MAX_LINE_NUMBER)
    problems.add("line_number", too_big, f"line_number is above {MAX_LINE_NUMBER}")
    return pa.array(np.where(finite & ~fraction & ~too_big, numbers, 0).astype(np.int64))


def _number(
    array,
    column: str,
    rows: int,
    problems: Problems,
    *,
    default: float | None = None,
    minimum: float | None = None,
    required: bool = False,
) -> pa.Array:
    """float64 values; blank -> default (or a 'blank' problem when required)."""
    fallback = np.nan if default is None else default
    if array is None:
        return pa.array(np.full(rows, fallback))
    value_type = _value_type(array)
    if _numeric(value_type):
        plain = array.cast(value_type) if pa.types.is_dictionary(array.type) else array
        numbers = np.asarray(pc.fill_null(plain.cast(pa.float64()), np.nan))
        blank = _blank(array)
        reason: Reason = f"{column} is not a finite number"
    else:
        text = _trimmed(decode_text(array, column, problems))
        per_value = _floats(text.dictionary)
        numbers = spread(text, per_value, np.nan)
        blank = _blank(text)
        reason = _per_value_reason(text, column, "is not a number")
    if required:
        problems.add(column, blank & ~problems.failed(column), f"{column} is blank")
    numbers = np.where(blank, fallback, numbers)
    problems.add(column, ~blank & ~np.isfinite(numbers), reason)
    if minimum is not None:
        below = np.isfinite(numbers) & (numbers < minimum)
        problems.add(column, below, f"{column} is below {minimum:g}")
    return pa.array(numbers, pa.float64())


def _floats(values: pa.Array) -> np.ndarray:
    """Numbers of distinct text values; NaN where a value is not a finite number."""
    try:
        numbers = np.asarray(pc.fill_null(pc.cast(values, pa.float64()), np.nan), dtype=float)
    except pa.ArrowInvalid:  # some value is not a number: parse one by one to tell which
        numbers = np.array([_to_float(v) for v in values.to_pylist()], dtype=np.float64)
    return np.where(np.isfinite(numbers), numbers, np.nan)


def _to_float(text: str | None) -> float:
    try:
        value = float(text) if text else math.nan
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _dates(array, column: str, problems: Problems, *, required: bool) -> pa.Array:
    """date32 values; a value that is not a real date is a problem."""
    value_type = _value_type(array)
    text_like = (
        pa.types.is_string(value_type)
        or pa.types.is_large_string(value_type)
        or pa.types.is_binary(value_type)
        or pa.types.is_large_binary(value_type)
    )
    if pa.types.is_dictionary(array.type) and not text_like:
        array = array.cast(value_type)
    if pa.types.is_date(value_type):
        dates = array.cast(pa.date32())
    elif pa.types.is_timestamp(value_type):
        if value_type.tz is not None:  # the date is the one on the wall clock of the zone
            array = pc.local_timestamp(array)
            value_type = array.type
        dates = array.cast(pa.date32())
        midnight = np.asarray(pc.fill_null(pc.equal(pc.cast(dates, value_type), array), True))
        problems.add(column, ~midnight, f"{column} has a time of day; expected a date")
    elif text_like or _numeric(value_type):  # numbers as their text: 20200302 is YYYYMMDD
        text = _trimmed(decode_text(array, column, problems))
        parsed = parse_dates(text.dictionary)
        dates = parsed.dates.take(text.indices)
        problem = np.asarray(parsed.problem.is_valid())
        reason = pc.binary_join_element_wise(
            f"{column} '",
            shown(pc.fill_null(text.dictionary, "")),
            "' ",
            pc.fill_null(parsed.problem, ""),
            "",
        )
        problems.add(
            column,
            spread(text, problem, False),
            pa.DictionaryArray.from_arrays(text.indices, reason),
        )
    else:
        raise InputError(f"column {column!r} has type {value_type}, which cannot hold dates")
    if required:
        problems.add(column, _blank(dates) & ~problems.failed(column), f"{column} is blank")
    return dates


def _numeric(value_type: pa.DataType) -> bool:
    return (
        pa.types.is_integer(value_type)
        or pa.types.is_floating(value_type)
        or pa.types.is_decimal(value_type)
    )


def _age(raw, service: pa.Array, rows: int, problems: Problems) -> dict[str, pa.Array]:
    """The line's own age in whole years on the service date (birth date first, else the age
    column) and its birth date: another line of the member may need it (context.member_ages)."""
    age = np.full(rows, np.nan, dtype=np.float32)
    birth = pa.nulls(rows, pa.date32())
    if "patient_age" in raw:
        age = np.asarray(_number(raw["patient_age"], "patient_age", rows, problems, minimum=0.0))
    if "patient_birth_date" in raw:
        birth = _dates(raw["patient_birth_date"], "patient_birth_date", problems, required=False)
        born = np.asarray(birth.is_valid()) & np.asarray(service.is_valid())
        years = years_between(birth, service)
        after = born & (years < 0)
        problems.add("patient_birth_date", after, "patient_birth_date is after service_date")
        age = np.where(born, years, age)
    return {
        "age": pa.array(age.astype(np.float32), pa.float32()),
        "patient_birth_date": birth.cast(pa.date32()),
    }


def years_between(start: pa.Array, end: pa.Array) -> np.ndarray:
    """Completed years from `start` to `end` (a birthday counts on the day itself)."""
    start_year, start_day = _year_and_day(start)
    end_year, end_day = _year_and_day(end)
    return end_year - start_year - (end_day < start_day)


def _year_and_day(dates: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(year, month * 32 + day) per line (0 for a missing date).

    Calendar fields are worked out once per day in the extract's date range and gathered.
    """
    days = np.asarray(pc.fill_null(dates.cast(pa.date32()).cast(pa.int32()), 0), np.int64)
    valid = np.asarray(dates.is_valid())
    if not valid.any():
        return np.zeros(len(days), np.int32), np.zeros(len(days), np.int32)
    first, last = int(days[valid].min()), int(days[valid].max())
    calendar = pa.array(np.arange(first, last + 1, dtype=np.int32)).cast(pa.date32())
    year = np.append(np.asarray(pc.year(calendar), np.int32), 0)
    month_day = np.append(
        np.asarray(pc.month(calendar), np.int32) * 32 + np.asarray(pc.day(calendar), np.int32), 0
    )
    position = np.where(valid, days - first, last - first + 1)
    return year[position], month_day[position]
