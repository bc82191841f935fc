"""The catalog's data: code sets and classes, validity windows and indications.

What rule kinds are built from and what the engine matches lines against. Plain types with
the few parsing helpers kinds share (code lists, date windows); nothing here knows the kinds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from igrt_edits.util.toml import Table

LETTERS = tuple("ABCDEFGHIJKLMNOP")
CODE = re.compile(r"^[A-Z0-9]{5}$")


@dataclass(frozen=True)
class LineClass:
    """A named set of codes, optionally narrowed by beam modality."""

    name: str
    codes: frozenset[str]
    modality: frozenset[str] | None = None
    not_modality: frozenset[str] | None = None



@dataclass(frozen=True)
class DateWindow:
    """Inclusive service-date window; None is open."""

    start: dt.date | None = None
    end: dt.date | None = None

    def contains(self, days: np.ndarray) -> np.ndarray:
        inside = np.ones(len(days), dtype=bool)
        if self.start is not None:
            inside &= days >= np.datetime64(self.start, "D")
        if self.end is not None:
            inside &= days <= np.datetime64(self.end, "D")
        return inside

    def describe(self) -> str:
        if self.start and self.end:
            return f"{self.start} to {self.end}"
        if self.start:
            return f"from {self.start}"
        if self.end:
            return f"through {self.end}"
        return "always"

    @staticmethod
    def parse(table: Table | None) -> DateWindow:
        if table is None:
            return DateWindow()
        window = DateWindow(table.date("from"), table.date("through"))
        table.finish()
        if window.start and window.end and window.start > window.end:
            raise table.fail("from", f"{window.start} is after through {window.end}")
        return window


@dataclass(frozen=True)
class ValidityWindow:
    code: str
    window: DateWindow
    use_instead: dict[str, str]
    source: str


@dataclass(frozen=True)
class IndicationRange:
    id: str
    letter: str
    start: str
    end: str
    label: str
    optional: bool


@dataclass(frozen=True)
class Letter:
    letter: str
    indication: str
    requires: tuple[str, ...] = ()


SHORTEST_CUT = 3
"""Diagnosis codes this long or longer are compared with range bounds cut to their length (an
ICD-10-CM category has 3 characters); shorter text is compared as it stands."""


@dataclass(frozen=True)
class IndicationTable:
    """Indication letters and their diagnosis ranges, with vectorized matching."""

    letters: dict[str, Letter]
    ranges: tuple[IndicationRange, ...]
    implied: dict[str, tuple[LineClass, ...]] = field(default_factory=dict)
    """Tags a patient-day carries when it has a line of one of the classes (K's `photon`: a
    photon delivery line), as well as when a line's treatment_indicators name them."""

    def enabled(self, ids: Iterable[str]) -> IndicationTable:
        """The table with default rows plus the named optional rows switched on."""
        ids = set(ids)
        keep = tuple(r for r in self.ranges if not r.optional or r.id in ids)
        return replace(self, ranges=keep)

    def bit(self, letter: str) -> int:
        return 1 << LETTERS.index(letter)

    @property
    def unconditional_mask(self) -> int:
        return sum(self.bit(x) for x, info in self.letters.items() if not info.requires)

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(sorted({t for info in self.letters.values() for t in info.requires}))

    def letter_bits(self, codes: np.ndarray) -> np.ndarray:
        """Per dot-less diagnosis code, the bits of the letters whose ranges contain it.

        A code shorter than a range's bounds is compared with the bounds cut to its length,
        so a less specific code inside a range matches it (C860 is inside C8600-C8661).
        """
        codes = np.asarray(codes, dtype=str)
        lengths = np.char.str_len(codes)
        bits = np.zeros(len(codes), dtype=np.int64)
        for length in np.unique(lengths):  # one vector pass per code length and range row
            at = np.flatnonzero(lengths == length)
            cut = int(length) if length >= SHORTEST_CUT else None
            for row in self.ranges:
                low, high = row.start[:cut], row.end[:cut]
                inside = (codes[at] >= low) & (codes[at] <= high)
                bits[at] |= np.where(inside, self.bit(row.letter), 0)
        return bits

    def tag_bits(self, tags: np.ndarray) -> np.ndarray:
        known = self.tags
        position = {t: i for i, t in enumerate(known)}
        return np.array([1 << position[t] if t in position else 0 for t in tags.astype(str)])

    def satisfied(self, bits: np.ndarray, day_tags: np.ndarray) -> np.ndarray:
        """Whether any matched conditional letter has all its tags on the patient-day."""
        position = {t: i for i, t in enumerate(self.tags)}
        out = np.zeros(len(bits), dtype=bool)
        for letter, info in self.letters.items():
            if info.requires:
                need = sum(1 << position[t] for t in info.requires)
                out |= ((bits & self.bit(letter)) != 0) & ((day_tags & need) == need)
        return out

    def describe_needs(self, bits: np.ndarray) -> np.ndarray:
        """Text naming the documentation tags each matched conditional letter needs."""
        distinct, of = np.unique(bits, return_inverse=True)
        texts = []
        for value in distinct:  # one step per distinct combination of letters
            parts = [
                f"{'+'.join(info.requires)} ({letter})"
                for letter, info in self.letters.items()
                if info.requires and value & self.bit(letter)
            ]
            texts.append(", ".join(parts))
        return np.array(texts, dtype=object)[of] if len(bits) else np.zeros(0, dtype=object)



@dataclass
class CatalogData:
    """Code sets, classes, validity windows and indications: what rules are built from."""

    sets: dict[str, frozenset[str]] = field(default_factory=dict)
    classes: dict[str, LineClass] = field(default_factory=dict)
    validity: list[ValidityWindow] = field(default_factory=list)
    indications: IndicationTable = field(default_factory=lambda: IndicationTable({}, ()))

    def line_class(self, name: str, table: Table, key: str) -> LineClass:
        """The class or code set called `name`; an unknown name fails with file and key."""
        if name in self.classes:
            return self.classes[name]
        if name in self.sets:
            return LineClass(name, self.sets[name])
        known = ", ".join(sorted({*self.sets, *self.classes}))
        raise table.fail(key, f"unknown code set or class {name!r} (known: {known})")



def expand_codes(
    items: Sequence[str], table: Table, key: str, sets: dict | None = None
) -> set[str]:
    """Codes from a list of codes, `A-B` ranges and (when `sets` is given) `@set` references."""
    codes: set[str] = set()
    for item in items:
        item = item.strip().upper()
        if item.startswith("@") and sets is not None:
            name = item[1:].lower()
            if name not in sets:
                raise table.fail(key, f"unknown code set {name!r} in {item!r}")
            codes |= sets[name]
        elif "-" in item:
            codes |= _code_range(item, table, key)
        elif CODE.match(item):
            codes.add(item)
        else:
            raise table.fail(key, f"{item!r} is not a 5-character code, a range or a @set")
    return codes


def _code_range(item: str, table: Table, key: str) -> set[str]:
    first, _, last = item.partition("-")
    if not (CODE.match(first) and CODE.match(last)):
        raise table.fail(key, f"{item!r} is not a range of 5-character codes")
    head = len(_common_prefix([first, last]))
    tail = len(_common_prefix([first[::-1], last[::-1]]))
    tail = min(tail, len(first) - head)
    low, high = first[head : len(first) - tail], last[head : len(last) - tail]
    if not (low.isdigit() and high.isdigit()) or int(low) > int(high):
        raise table.fail(key, f"{item!r} is not an ascending range of codes")
    width = len(low)
    return {
        f"{first[:head]}{n:0{width}d}{first[len(first) - tail :]}"
        for n in range(int(low), int(high) + 1)
    }


def _common_prefix(words: list[str]) -> str:
    prefix = []
    for chars in zip(*words, strict=False):
        if len(set(chars)) != 1:
            break
        prefix.append(chars[0])
    return "".join(prefix)

