"""HIPAA X12 837 files (5010 837P and 837I) read as claim lines, streaming.

A file is X12 when its content starts with an ISA segment, whatever its name. The ISA fixes
the separators (element: its 4th character, component: ISA16, segment terminator: the
character after it); each interchange of a file may declare its own.

The file is read in blocks of bytes. Each block is split into segments by Arrow's string
kernels (no Python object per segment): the segment id, its number in the file (the first
ISA is segment 1) and the line and column of the file it starts on. The envelope (ISA/IEA,
GS/GE, ST/SE nesting) is checked as it goes; a broken envelope is an `InputError` (exit 2).
Blocks are cut at a hierarchy boundary (HL, ST, GS or ISA) and the segments a later claim may
need from before the cut (the open envelope, the current billing provider, subscriber and
patient loop headers) are carried to the next window, so the claims of one window are
flattened by vector operations alone (see `x12_lines`).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.errors import InputError

ISA_LENGTH = 106
"""Characters of an ISA segment, its terminator included: every element has a fixed width."""
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1)
"""Widths of ISA01..ISA15 (ISA16, the component separator, is one character)."""
SUPPORTED_VERSION = "00501"
BLOCK_BYTES = 4 << 20
"""Bytes read at a time; a window holds the claims of about one block."""

# Segment kinds the reader tells apart; every other well-formed id is OTHER, an id that cannot
# be a segment id (not 2-3 capital letters or digits) is BAD.
KINDS = (
    "OTHER", "BAD", "ISA", "IEA", "GS", "GE", "ST", "SE",
    "HL", "SBR", "NM1", "DMG", "CLM", "HI", "LX", "SV1", "SV2", "DTP",
)  # fmt: skip
KIND = {name: code for code, name in enumerate(KINDS)}
ENVELOPE = tuple(KIND[k] for k in ("ISA", "IEA", "GS", "GE", "ST", "SE"))
CUT_BEFORE = tuple(KIND[k] for k in ("ISA", "GS", "ST", "HL"))
TEXT = pa.large_string()
LOOKS_X12 = re.compile(rb"^(?:GS|ST|BHT|IEA|GE|SE|HL|CLM)[*|^~!]")

# Transaction kinds, recorded at each ST segment.
NOT_837, PROFESSIONAL, INSTITUTIONAL, OTHER_837 = 1, 2, 3, 4


def is_x12(head: bytes) -> bool:
    """Whether a file's first bytes are an X12 interchange (an ISA segment, maybe after a BOM)."""
    return _strip_lead(head).startswith(b"ISA")


def looks_like_headless_x12(head: bytes) -> str | None:
    """The segment id a file starts with when it reads like X12 without its ISA, else None."""
    match = LOOKS_X12.match(_strip_lead(head))
    return match.group(0)[:-1].decode() if match else None


def _strip_lead(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")


@dataclass(frozen=True)
class Separators:
    """The delimiters one interchange declares in its ISA segment."""

    element: str
    component: str
    segment: str
    repetition: str

    def describe(self) -> str:
        return (
            f"element {self.element!r}, component {self.component!r},"
            f" segment terminator {self.segment!r}"
        )


def read_isa(raw: bytes, where: str) -> Separators:
    """The separators of the ISA segment at the start of `raw`, or InputError saying what
    is wrong with it (`where` names the file and position)."""
    if not raw.startswith(b"ISA"):
        raise InputError(f"{where}: expected an ISA segment")
    if len(raw) < 4:
        raise InputError(f"{where}: the ISA segment is cut short (separators missing)")
    element = chr(raw[3])
    if element.isalnum() or element.isspace():
        raise InputError(
            f"{where}: the ISA segment has no element separator (the 4th character is"
            f" {element!r}; it must be a symbol such as '*')"
        )
    text = raw[: ISA_LENGTH + 2].decode("latin-1")
    parts = text[4:].split(element, 15)
    for index, width in enumerate(ISA_WIDTHS):
        if index >= len(parts) - 1:
            raise InputError(
                f"{where}: the ISA segment is cut short: it has {index} of its 16 elements"
                " (separators missing)"
            )
        if len(parts[index]) != width:
            raise InputError(
                f"{where}: ISA{index + 1:02d} is {len(parts[index])} characters where X12"
                f" fixes {width} (an ISA segment is always {ISA_LENGTH} characters long)"
            )
    if len(text) < ISA_LENGTH:
        raise InputError(
            f"{where}: the ISA segment is cut short: ISA16 (component separator) or the"
            " segment terminator is missing"
        )
    component, segment = text[104], text[105]
    if component.isalnum() or component == element or component.isspace():
        raise InputError(f"{where}: ISA16 {component!r} cannot be a component separator")
    if segment.isalnum() or segment in (element, component) or segment == " ":
        raise InputError(f"{where}: {segment!r} after ISA16 cannot be a segment terminator")
    version = parts[11]
    if version != SUPPORTED_VERSION:
        raise InputError(
            f"{where}: ISA12 version {version!r}: only X12 5010 ({SUPPORTED_VERSION}) 837"
            " files are read"
        )
    return Separators(element, component, segment, parts[10])


@dataclass
class Segments:
    """Segments of a file as parallel arrays.

    `text[i]` starts at segment i's id and runs to the next segment (its terminator and the
    blanks after it included: the Arrow array is the block's bytes, not a copy); the segment
    itself is its first `length[i]` bytes.
    """

    text: pa.LargeStringArray
    length: np.ndarray
    kind: np.ndarray
    number: np.ndarray
    """Segment number in the file (the first ISA is 1)."""
    line: np.ndarray
    """Line of the file the segment starts on (1-based)."""
    column: np.ndarray
    """Column (1-based, in bytes) the segment starts at."""
    txn: np.ndarray
    """At ST segments: the transaction's kind (NOT_837, PROFESSIONAL, ...); 0 elsewhere."""
    found: dict = field(default_factory=dict, repr=False)
    """Byte offsets of each separator character asked about, found once."""

    def __len__(self) -> int:
        return len(self.kind)

    def positions(self, char: str) -> np.ndarray:
        """Offsets in the text's data buffer of every occurrence of `char` (a separator)."""
        if char not in self.found:
            offsets, data = _buffers(self.text)
            low, high = int(offsets[0]), int(offsets[-1])
            self.found[char] = np.flatnonzero(data[low:high] == ord(char)) + low
        return self.found[char]

    def string(self, index: int) -> str:
        """The text of one segment (for messages)."""
        return self.text[int(index)].as_py()[: int(self.length[index])]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) byte offsets of each segment in the text's data buffer."""
        if "bounds" not in self.found:
            offsets, _ = _buffers(self.text)
            self.found["bounds"] = (offsets[:-1], offsets[:-1] + self.length)
        return self.found["bounds"]

    def separators_in(self, char: str) -> tuple[np.ndarray, np.ndarray]:
        """Per segment: index of its first `char` among `positions(char)`, and how many."""
        key = f"segments:{char}"
        if key not in self.found:
            start, end = self.bounds()
            at = self.positions(char)
            first = np.searchsorted(at, start)
            self.found[key] = (first, np.searchsorted(at, end) - first)
        return self.found[key]

    def take(self, rows: np.ndarray) -> Segments:
        return Segments(
            self.text.take(pa.array(rows, pa.int64())),
            self.length[rows],
            self.kind[rows],
            self.number[rows],
            self.line[rows],
            self.column[rows],
            self.txn[rows],
        )

    def cut(self, start: int, stop: int | None = None) -> Segments:
        stop = len(self) if stop is None else stop
        return Segments(
            self.text.slice(start, stop - start),
            self.length[start:stop],
            self.kind[start:stop],
            self.number[start:stop],
            self.line[start:stop],
            self.column[start:stop],
            self.txn[start:stop],
        )

    @staticmethod
    def join(parts: list[Segments]) -> Segments:
        parts = [p for p in parts if len(p)] or parts[:1]
        if len(parts) == 1:
            return parts[0]
        return Segments(
            pa.concat_arrays([p.text for p in parts]),
            np.concatenate([p.length for p in parts]),
            np.concatenate([p.kind for p in parts]),
            np.concatenate([p.number for p in parts]),
            np.concatenate([p.line for p in parts]),
            np.concatenate([p.column for p in parts]),
            np.concatenate([p.txn for p in parts]),
        )

    def where(self, index: int) -> str:
        """`segment N (line L)`, for messages."""
        return f"segment {self.number[index]} (line {self.line[index]})"


def empty_segments() -> Segments:
    ints = np.zeros(0, np.int64)
    return Segments(
        pa.array([], pa.large_string()), ints, np.zeros(0, np.int8), ints, ints, ints, ints
    )


@dataclass
class Window:
    """Segments whose claims are flattened together: carried context, then new segments."""

    segments: Segments
    first_new: int
    """Index of the first segment that is not carried context."""
    separators: Separators


def segment_kinds(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, element: str):
    """The kind code of each segment, from its first 2-3 bytes."""
    last = max(len(data) - 1, 0)

    def byte(k: int) -> np.ndarray:
        at = np.minimum(starts + k, last)
        return np.where(lengths > k, data[at] if len(data) else 0, 0).astype(np.int64)

    b0, b1, b2, b3 = byte(0), byte(1), byte(2), byte(3)
    sep = ord(element)
    two = (lengths == 2) | (b2 == sep)
    three = ~two & ((lengths == 3) | (b3 == sep))
    shaped = _id_byte(b0) & _id_byte(b1) & (two | (three & _id_byte(b2)))
    code = np.where(two, b0 * 65536 + b1 * 256, b0 * 65536 + b1 * 256 + b2)
    known = np.searchsorted(_KNOWN_CODES, code)
    known = np.minimum(known, len(_KNOWN_CODES) - 1)
    kinds = np.where(_KNOWN_CODES[known] == code, _KNOWN_KINDS[known], KIND["OTHER"])
    kinds = np.where(shaped, kinds, KIND["BAD"])
    # An ISA declares its own element separator (its 4th character): an interchange with other
    # separators starts there.
    isa = (b0 == ord("I")) & (b1 == ord("S")) & (b2 == ord("A")) & (lengths > 3)
    return np.where(isa, KIND["ISA"], kinds).astype(np.int8)


def _id_byte(b: np.ndarray) -> np.ndarray:
    return ((b >= 48) & (b <= 57)) | ((b >= 65) & (b <= 90))


def _id_code(name: str) -> int:
    raw = name.encode()
    return raw[0] * 65536 + raw[1] * 256 + (raw[2] if len(raw) > 2 else 0)


_KNOWN = sorted((_id_code(n), code) for code, n in enumerate(KINDS) if n not in ("OTHER", "BAD"))
_KNOWN_CODES = np.array([c for c, _ in _KNOWN], np.int64)
_KNOWN_KINDS = np.array([k for _, k in _KNOWN], np.int64)


def _buffers(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a large string array, as numpy views."""
    offsets = np.frombuffer(text.buffers()[1], np.int64)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    return offsets, (np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8))


def element_values(segments: Segments, rows: np.ndarray, element: str, upto: int) -> list:
    """Elements 0..`upto` of the given segments as Arrow text (null where absent or empty)."""
    fields = Fields(segments, rows, element)
    return [fields[k] for k in range(upto + 1)]


class Fields:
    """The elements of some segments, located by separator offsets (numpy) and copied out
    only when asked for: no split of every segment into Python or Arrow lists."""

    def __init__(self, segments: Segments, rows: np.ndarray, element: str) -> None:
        self.segments = segments
        self.rows = np.asarray(rows, np.int64)
        self.element = element
        _, self.data = _buffers(segments.text)
        start, end = segments.bounds()
        self.start, self.end = start[self.rows], end[self.rows]
        self.seps = segments.positions(element)
        first, count = segments.separators_in(element)
        self.first, self.count = first[self.rows], count[self.rows]
        self.cache: dict[int, pa.Array] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def span(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, present) of element k of each segment."""
        return _part(self.seps, self.first, self.count, self.start, self.end, k)

    def __getitem__(self, k: int) -> pa.Array:
        if k not in self.cache:
            self.cache[k] = _text(self.data, *self.span(k))
        return self.cache[k]

    def chosen(self, choose: np.ndarray, k_true: int, k_false: int) -> tuple:
        """The span of element `k_true` where `choose`, else of element `k_false`."""
        a, b = self.span(k_true), self.span(k_false)
        return tuple(np.where(choose, x, y) for x, y in zip(a, b, strict=True))

    def text(self, span: tuple) -> pa.Array:
        return _text(self.data, *span)

    def components(self, k, separator: str, upto: int) -> list[pa.Array]:
        """Components 0..`upto` of element k, or of a span (split at `separator`)."""
        return [self.text(span) for span in self.component_spans(k, separator, upto)]

    def component_spans(self, k, separator: str, upto: int) -> list[tuple]:
        start, end, present = self.span(k) if isinstance(k, int) else k
        seps = self.segments.positions(separator)
        start, end = np.where(present, start, 0), np.where(present, end, 0)
        first = np.searchsorted(seps, start)
        count = np.where(present, np.searchsorted(seps, end) - first, -1)
        return [_part(seps, first, count, start, end, j) for j in range(upto + 1)]

    def text_at(self, span: tuple, at: np.ndarray) -> pa.Array:
        """The text of `span` for each of `at` (indexes into these segments; -1: null)."""
        start, end, present = span
        if not len(start):
            return pa.nulls(len(at), TEXT)
        index = np.maximum(at, 0)
        return _text(self.data, start[index], end[index], present[index] & (at >= 0))

    def has(self, k: int, separator: str) -> np.ndarray:
        """Whether element k holds `separator`."""
        start, end, present = self.span(k)
        seps = self.segments.positions(separator)
        return present & (np.searchsorted(seps, end) > np.searchsorted(seps, start))

    def subset(self, keep: np.ndarray) -> Fields:
        return Fields(self.segments, self.rows[keep], self.element)


def _part(seps, first, count, start, end, k):
    """Span of part k between separators (part 0 runs from the start to the first one);
    where the part is not present its span is meaningless and `present` is False."""
    if not len(seps):
        return start, end, np.full(len(start), k == 0)
    if k == 0:
        return start, np.where(count > 0, np.take(seps, first, mode="clip"), end), count >= 0
    begin = np.take(seps, first + (k - 1), mode="clip") + 1
    stop = np.where(count > k, np.take(seps, first + k, mode="clip"), end)
    return begin, stop, count >= k


def _text(data: np.ndarray, start: np.ndarray, end: np.ndarray, present: np.ndarray) -> pa.Array:
    """The byte spans as an Arrow large string array (null where absent or empty)."""
    lengths = np.where(present, end - start, 0)
    valid = lengths > 0
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    index = np.arange(total, dtype=np.int64) + np.repeat(start - offsets[:-1], lengths)
    return pa.LargeStringArray.from_buffers(
        len(lengths),
        pa.py_buffer(offsets),
        pa.py_buffer(data[index]),
        pa.py_buffer(np.packbits(valid, bitorder="little")),
        int(len(valid) - valid.sum()),
    )


class SegmentReader:
    """Segments of one X12 file, block by block, with the envelope checked on the way."""

    def __init__(self, path: Path, handle: BinaryIO, block_bytes: int = BLOCK_BYTES) -> None:
        self.path = path
        self.handle = handle
        self.block_bytes = block_bytes
        self.separators: Separators | None = None
        self.offset = 0
        """File offset of the first byte not yet split into segments."""
        self.lines_before = 0
        """Newlines in the file before `offset`."""
        self.last_newline = -1
        """File offset of the last newline before `offset` (-1: none yet)."""
        self.numbered = 0
        self.envelope = Envelope(path)

    def blocks(self) -> Iterator[tuple[Segments, Separators]]:
        """Complete segments in file order, a block at a time, with the separators they were
        split by. Raises InputError where the
        envelope is broken, including at the end of a file whose interchange is not closed."""
        data, eof = b"", False
        while not eof:
            block = self.handle.read(self.block_bytes)
            eof = not block
            if not self.offset and not data and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
                self.offset = 3
            data += block
            if self.separators is None and (eof or len(data) > 2 * ISA_LENGTH):
                self.separators = self._separators_at(data, 0)
            while self.separators is not None:
                terminator = self.separators.segment.encode("latin-1")
                end = data.rfind(terminator)
                if end >= 0:
                    segments, used, switch = self._tokenize(data[: end + 1])
                    if len(segments):
                        self.envelope.check(segments, self.separators)
                        yield segments, self.separators
                    self._advance(data[:used])
                    data = data[used:]
                    if switch is not None:
                        self.separators = switch
                        continue
                rest = _strip_lead(data)
                if rest.startswith(b"ISA") and (eof or len(rest) > 2 * ISA_LENGTH):
                    found = self._separators_at(data, 0)
                    if found != self.separators:  # the next interchange has its own
                        self.separators = found
                        continue
                if eof and rest:
                    data += terminator  # the last segment without its terminator
                    continue
                break
        self.envelope.finish()

    def _separators_at(self, data: bytes, start: int) -> Separators:
        lead = len(data) - start - len(_strip_lead(data[start:]))
        line = self.lines_before + data.count(b"\n", 0, start + lead) + 1
        begin = start + lead
        return read_isa(data[begin : begin + ISA_LENGTH + 2], f"{self.path}: line {line}")

    def _advance(self, used: bytes) -> None:
        newline = used.rfind(b"\n")
        if newline >= 0:
            self.last_newline = self.offset + newline
        self.lines_before += used.count(b"\n")
        self.offset += len(used)

    def _tokenize(self, data: bytes) -> tuple[Segments, int, Separators | None]:
        """The segments of `data` (whole segments), how many bytes they took, and the new
        separators when an ISA declaring others cut the block short."""
        seps = self.separators
        # Bytes that are not UTF-8 become '?' one for one, so offsets stay the file's.
        text = data if data.isascii() else data.decode("utf-8", ONE_FOR_ONE).encode("utf-8")
        buf = np.frombuffer(text, np.uint8)
        ends = np.flatnonzero(buf == ord(seps.segment))
        starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
        starts = _skip_blanks(buf, starts, ends)
        if seps.segment == "\n":  # CRLF line ends: the CR is not part of the segment
            ends = ends - ((ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13))
        keep = starts < ends
        starts, ends = starts[keep], ends[keep]
        kinds = segment_kinds(buf, starts, ends - starts, seps.element)
        used, switch = len(data), None
        for index in np.flatnonzero(kinds == KIND["ISA"]):
            found = self._separators_at(text, int(starts[index]))
            if found != seps:
                used, switch = int(starts[index]), found
                starts, ends, kinds = starts[:index], ends[:index], kinds[:index]
                break
        bounds = np.append(starts, used if switch else len(text)).astype(np.int64)
        array = pa.LargeStringArray.from_buffers(
            len(starts), pa.py_buffer(bounds), pa.py_buffer(text)
        )
        newlines = np.flatnonzero(buf == 10)
        before = np.searchsorted(newlines, starts)
        previous = (
            np.where(
                before > 0, newlines[np.maximum(before - 1, 0)] + self.offset, self.last_newline
            )
            if len(newlines)
            else np.full(len(starts), self.last_newline)
        )
        line = (self.lines_before + before + 1).astype(np.int64)
        column = starts + self.offset - previous
        number = self.numbered + np.arange(1, len(kinds) + 1, dtype=np.int64)
        self.numbered += len(kinds)
        txn = np.zeros(len(kinds), np.int64)
        segments = Segments(array, ends - starts, kinds, number, line, column, txn)
        return segments, used, switch


def _skip_blanks(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Segment starts moved past the line breaks and blanks before the segment id."""
    starts = starts.copy()
    last = max(len(buf) - 1, 0)
    for _ in range(MAX_LEADING_BLANKS):
        byte = buf[np.minimum(starts, last)] if len(buf) else starts
        blank = (starts < ends) & ((byte == 32) | (byte == 9) | (byte == 10) | (byte == 13))
        if not blank.any():
            break
        starts[blank] += 1
    return starts


def _one_for_one(error: UnicodeDecodeError) -> tuple[str, int]:
    return "?", error.start + 1


ONE_FOR_ONE = "igrt-edits-one-for-one"
codecs.register_error(ONE_FOR_ONE, _one_for_one)
MAX_LEADING_BLANKS = 256


class Envelope:
    """ISA/IEA, GS/GE and ST/SE nesting across the blocks of one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.depth = 0  # 0: outside, 1: in ISA, 2: in GS, 3: in ST
        self.version = ""
        self.kinds_seen: dict[str, int] = {}

    def check(self, segments: Segments, seps: Separators) -> None:
        """Follow the envelope through one block; record each transaction's kind at its ST."""
        start = self.depth
        events = np.flatnonzero(np.isin(segments.kind, ENVELOPE))
        depth_after = np.zeros(len(events), np.int64)
        for i, index in enumerate(events):
            fields = segments.string(index).split(seps.element)
            fields += [""] * (9 - len(fields))
            self._event(KINDS[segments.kind[index]], segments, int(index), fields)
            depth_after[i] = self.depth
        marks = np.full(len(segments), -1, np.int64)
        marks[events] = np.arange(len(events))
        last = np.maximum.accumulate(marks)
        depth = np.where(last >= 0, depth_after[np.maximum(last, 0)] if len(events) else 0, start)
        outside = np.flatnonzero((depth != 3) & ~np.isin(segments.kind, ENVELOPE))
        if len(outside):
            index = int(outside[0])
            name = segments.string(index).split(seps.element, 1)[0][:12]
            raise InputError(
                f"{self.path}: {segments.where(index)}: segment {name!r} is outside a"
                " transaction set (an 837 holds its segments between ST and SE)"
            )

    def _event(self, kind: str, segments: Segments, index: int, fields: list) -> None:
        expected = {"ISA": 0, "GS": 1, "ST": 2, "SE": 3, "GE": 2, "IEA": 1}[kind]
        if self.depth != expected:
            raise InputError(
                f"{self.path}: {segments.where(index)}: {kind} {self._misplaced(kind)}"
            )
        if kind == "ISA":
            self.depth = 1
        elif kind == "GS":
            self.depth, self.version = 2, fields[8] or ""
        elif kind == "ST":
            self.depth = 3
            code = fields[1] or ""
            self.kinds_seen[code] = self.kinds_seen.get(code, 0) + 1
            segments.txn[index] = transaction_kind(code, fields[3] or self.version)
        else:
            self.depth = expected - 1

    def _misplaced(self, kind: str) -> str:
        depth = self.depth
        if depth == 3:
            return "inside a transaction set: the ST before it has no SE"
        return {
            "ISA": "before the previous interchange's IEA",
            "GS": "outside an interchange (no ISA before it)"
            if depth == 0
            else "before the previous group's GE",
            "ST": "outside a functional group (no GS before it)",
            "SE": "with no ST before it",
            "GE": "with no GS before it",
            "IEA": "with no ISA before it" if depth < 1 else "before the group's GE",
        }[kind]

    def finish(self) -> None:
        if self.depth:
            closing = {1: "IEA", 2: "GE", 3: "SE"}[self.depth]
            raise InputError(
                f"{self.path}: the file ends before its {closing}: the interchange is not"
                " closed (a file cut short?)"
            )
        if "837" not in self.kinds_seen:
            found = ", ".join(sorted(self.kinds_seen)) or "none"
            raise InputError(
                f"{self.path}: the file holds no 837 claim transaction (transaction sets"
                f" found: {found}); igrt-edits reads 837P and 837I claims"
            )


def transaction_kind(code: str, version: str) -> int:
    """What an ST segment opens: 837P, 837I, another 837 guide, or not an 837."""
    if code != "837":
        return NOT_837
    if "X222" in version:
        return PROFESSIONAL
    if "X223" in version:
        return INSTITUTIONAL
    return OTHER_837


def windows(reader: SegmentReader) -> Iterator[Window]:
    """Windows of whole hierarchy levels, each with the context it needs carried in front.

    An interchange that declares other separators starts a window of its own."""
    context = pending = empty_segments()
    current: Separators | None = None
    for block, separators in reader.blocks():
        if current is not None and separators != current and len(pending):
            yield Window(Segments.join([context, pending]), len(context), current)
            context = pending = empty_segments()
        current = separators
        segments = Segments.join([pending, block])
        cut = _last_cut(segments)
        if cut <= 0:
            pending = segments
            continue
        window = Segments.join([context, segments.cut(0, cut)])
        yield Window(window, len(context), separators)
        context = carried_context(window, separators.element)
        pending = segments.cut(cut)
    if len(pending):
        yield Window(Segments.join([context, pending]), len(context), current)


def _last_cut(segments: Segments) -> int:
    starts = np.flatnonzero(np.isin(segments.kind, CUT_BEFORE))
    return int(starts[-1]) if len(starts) else 0


def carried_context(window: Segments, element: str) -> Segments:
    """The segments later claims may read from before a cut: the open ISA, GS and ST, and the
    headers of the current billing provider, subscriber and patient HL loops."""
    kind = window.kind
    keep: list[int] = []
    for opening, closing in (("ISA", "IEA"), ("GS", "GE"), ("ST", "SE")):
        opens = np.flatnonzero(kind == KIND[opening])
        closes = np.flatnonzero(kind == KIND[closing])
        if len(opens) and (not len(closes) or closes[-1] < opens[-1]):
            keep.append(int(opens[-1]))
    st = np.flatnonzero(kind == KIND["ST"])
    if not keep or not len(st) or st[-1] != keep[-1]:
        return window.take(np.array(sorted(keep), np.int64))
    hls = np.flatnonzero(kind == KIND["HL"])
    hls = hls[hls > st[-1]]
    levels = hl_levels(window, hls, element)
    chosen = []
    for level in ("20", "22", "23"):
        at = hls[levels == level]
        at = at[at > (chosen[-1] if chosen else -1)]
        if len(at):
            chosen.append(int(at[-1]))
    stops = np.flatnonzero(np.isin(kind, (KIND["HL"], KIND["CLM"], KIND["SE"])))
    for start in chosen:
        after = stops[stops > start]
        stop = int(after[0]) if len(after) else len(kind)
        keep.extend(range(start, stop))
    return window.take(np.array(sorted(keep), np.int64))


def hl_levels(segments: Segments, hls: np.ndarray, element: str) -> np.ndarray:
    """HL03 (hierarchical level code) of the given HL segments, as text ('' when missing)."""
    if not len(hls):
        return np.zeros(0, dtype=object)
    level = element_values(segments, hls, element, 3)[3]
    return np.asarray(pc.fill_null(level, "").to_pylist(), dtype=object)
