"""Strict, vectorized date parsing for the contract's date forms.

`pyarrow.compute.strptime` rolls impossible dates over (20240230 becomes 2024-03-01), so dates
are split into year, month and day with regular expressions and checked against the calendar.
Callers parse the distinct values of a column (its dictionary), not every line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MIN_YEAR = 1900
MAX_YEAR = 2099

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MIDNIGHT = r"(?:[ T]00:00(?::00(?:\.0+)?)?)?"

# (pattern, order of the named groups) for each accepted form.
_FORMATS = (
    rf"^(?P<y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}}){_MIDNIGHT}$",
    rf"^(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}})/(?P<y>\d{{4}}){_MIDNIGHT}$",
    r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$",
    r"^(?P<d>\d{1,2})-(?P<m>[A-Za-z]{3})-(?P<y>\d{4})$",
)

ACCEPTED_FORMS = "YYYY-MM-DD, MM/DD/YYYY, YYYYMMDD or DD-Mon-YYYY"


@dataclass(frozen=True)
class ParsedDates:
    dates: pa.Array
    """date32, null where the value is blank or not a valid date."""
    problem: pa.Array
    """string: why a non-blank value is not a date, null where it parsed (or was blank)."""


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = year.astype(np.int64) - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (month.astype(np.int64) + 9) % 12
    doy = (153 * mp + 2) // 5 + day.astype(np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    base = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    return base[np.clip(month, 0, 12)] + ((month == 2) & leap)


def _month_number(text: pa.Array) -> np.ndarray:
    """1-12 for numeric or three-letter month names, 0 when not a month."""
    lowered = pc.utf8_lower(text)
    names = pc.index_in(lowered, value_set=pa.array(_MONTHS))
    numeric = pc.cast(pc.if_else(pc.match_substring_regex(text, r"^\d+$"), text, "0"), pa.int64())
    from_name = pc.add(pc.fill_null(names, -1), 1)
    return np.asarray(pc.if_else(pc.equal(from_name, 0), numeric, from_name), dtype=np.int64)


def parse_dates(values: pa.Array) -> ParsedDates:
    """Parse a string array of dates in any accepted form; impossible dates are problems."""
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    n = len(text)
    year = np.zeros(n, dtype=np.int64)
    month = np.zeros(n, dtype=np.int64)
    day = np.zeros(n, dtype=np.int64)
    matched = np.zeros(n, dtype=bool)
    for pattern in _FORMATS:
        parts = pc.extract_regex(text, pattern)
        ok = np.asarray(pc.fill_null(pc.is_valid(parts), False)) & ~matched
        if not ok.any():
            continue
        safe = pc.if_else(pa.array(ok), parts, pa.scalar(None, parts.type))
        y = np.asarray(pc.cast(pc.fill_null(pc.struct_field(safe, "y"), "0"), pa.int64()))
        d = np.asarray(pc.cast(pc.fill_null(pc.struct_field(safe, "d"), "0"), pa.int64()))
        m = _month_number(pc.fill_null(pc.struct_field(safe, "m"), "0"))
        year[ok], month[ok], day[ok] = y[ok], m[ok], d[ok]
        matched |= ok

    blank = np.asarray(pc.fill_null(pc.equal(text, ""), True))
    month_ok = (month >= 1) & (month <= 12)
    day_ok = month_ok & (day >= 1) & (day <= days_in_month(year, month))
    year_ok = (year >= MIN_YEAR) & (year <= MAX_YEAR)
    valid = matched & day_ok & year_ok

    days = days_from_civil(year, np.where(month_ok, month, 1), np.where(day_ok, day, 1))
    dates = pa.array(days.astype(np.int32), type=pa.int32(), mask=~valid).cast(pa.date32())
    problem = np.full(n, None, dtype=object)
    problem[~matched & ~blank] = f"is not a date ({ACCEPTED_FORMS})"
    problem[matched & ~(day_ok & year_ok)] = "is not a real calendar date"
    problem[matched & day_ok & ~year_ok] = f"has a year outside {MIN_YEAR}-{MAX_YEAR}"
    return ParsedDates(dates=dates, problem=pa.array(problem, type=pa.string()))
