"""The findings of one rule, built column by column in Arrow.

A rule's hits are positions of flagged lines, a few message fields per hit and the pairs of
(flagged line, related line). Every finding column is made from whole columns with Arrow and
numpy kernels, never one Python object per finding:

- texts that repeat across findings (patient, date, code, modifiers, rule id, name, severity,
  policy reference, CARC, source file) stay dictionary-encoded: indices into few values;
- a message is rendered once per distinct combination of its fields when they all have few
  values (most findings of a rule share one of a few hundred messages), else joined per
  finding with Arrow's variable-length string kernels;
- related lines become a list column by offsets, ordered by claim id and line number, and the
  message's list of them is that column joined;
- fingerprints are hashed over the joined key bytes (see util.hashing).

Building happens in two steps so that the texts made per finding (claim ids, related lines,
messages naming them, fingerprints) are made after the lines are let go: `pending_findings`
reads what it needs from the lines into ids and small dictionaries, `Pending.finish` makes the
texts.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.catalog.rule import Rule
from igrt_edits.rules.lines import Factor, Hits, Lines
from igrt_edits.util.grouping import distinct
from igrt_edits.util.hashing import fnv1a64, hex_strings

Part = pa.Array | str
"""A message part: one text per finding (maybe dictionary-encoded), or one literal for all."""
PER_LINE_FIELDS = ("claim_id", "line_number", "related", "with_related")
"""Message fields with a value of their own per finding: made in `Pending.finish`."""


def fingerprints(
    rule_id: str, claim: pa.DictionaryArray, line: pa.Array, code: pa.Array, date: pa.Array
) -> pa.Array:
    """Stable 16-hex-digit FNV-1a 64 hashes of `rule|claim|line|code|date` (UTF-8).

    FNV-1a reads the bytes in order, so the state after `rule|claim|` is hashed once per
    distinct claim and continued over each finding's `line|code|date`.
    """
    start = fnv1a64(pa.array([rule_id + "|"]))
    claims, each = distinct(np.asarray(claim.indices))
    texts = claim.dictionary.take(pa.array(claims))
    after_claim = fnv1a64(pc.binary_join_element_wise(texts, "|", ""), start[0])
    rest = pc.binary_join_element_wise(line, code, date, "|")
    return hex_strings(fnv1a64(rest, after_claim[each]))


@dataclass
class RelatedLines:
    """The related lines of each hit: pairs ordered by hit, claim id and line number."""

    hit: np.ndarray
    """Hit number of each pair (sorted)."""
    claim: pa.DictionaryArray
    line: np.ndarray
    """Claim id and line number of each pair's related line."""
    more: np.ndarray
    """Per hit, its related lines not named (over the rule's limit)."""

    def lists(self, hits: int) -> pa.Array:
        """The related lines of each hit as a list column of `claim:line`."""
        numbers = pc.cast(pa.array(self.line, pa.int64()), pa.string())
        refs = pc.binary_join_element_wise(plain(self.claim), numbers, ":")
        counts = np.bincount(self.hit, minlength=hits)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), refs)

    def text(self, lists: pa.Array) -> pa.Array:
        """The related lines joined with ', ', then "and N more" for those not named."""
        joined = pc.binary_join(lists, ", ")
        if not (self.more > 0).any():
            return joined
        count = pc.cast(pa.array(np.maximum(self.more, 0)), pa.string())
        tail = pc.binary_join_element_wise(" and ", count, " more", "")
        return pc.if_else(
            pa.array(self.more > 0), pc.binary_join_element_wise(joined, tail, ""), joined
        )


@dataclass
class Piece:
    """A message template filled for some hits: rendered, or waiting for per-finding fields."""

    where: np.ndarray | None
    """The hits it is for (None: all)."""
    parts: list[Part | Later]
    """Literals, dictionary-encoded fields and names of PER_LINE_FIELDS (as `Later`)."""
    done: pa.DictionaryArray | None = None


@dataclass(frozen=True)
class Later:
    """A per-finding message field, made in `Pending.finish`."""

    name: str


@dataclass
class Pending:
    """One rule's findings with every text that repeats made, and the per-finding ones not
    yet: all the lines' data they need is held as ids and small dictionaries."""

    rule: Rule
    claim: pa.DictionaryArray
    line: np.ndarray
    code: pa.DictionaryArray
    date: pa.DictionaryArray
    related: RelatedLines
    pieces: list[Piece]
    columns: dict[str, pa.Array]
    """The finished columns that need no per-finding text."""

    def __len__(self) -> int:
        return len(self.line)

    def finish(self) -> dict[str, pa.Array]:
        """Every finding column (the engine's names, in line order)."""
        claim = plain(self.claim)
        line = pc.cast(pa.array(self.line, pa.int64()), pa.string())
        lists = self.related.lists(len(self))
        later: dict[str, Callable[[], pa.Array]] = {
            "claim_id": lambda: claim,
            "line_number": lambda: line,
            "related": lambda: self.related.text(lists),
            "with_related": lambda: _with_related(self.related.text(lists)),
        }
        made: dict[str, pa.Array] = {}

        def field_text(name: str) -> pa.Array:
            if name not in made:
                made[name] = later[name]()
            return made[name]

        columns = dict(self.columns)
        columns["claim_id"] = claim
        columns["message"] = _combine(self.pieces, len(self), field_text)
        columns["related_lines"] = lists
        columns["fingerprint"] = fingerprints(
            self.rule.id, self.claim, line, plain(self.code), plain(self.date)
        )
        return columns


def pending_findings(rule: Rule, hits: Hits, lines: Lines) -> tuple[Pending, np.ndarray]:
    """One rule's pending findings, and the flagged lines' positions, in line order."""
    order = np.argsort(hits.rows, kind="stable")
    rows = hits.rows[order]
    fields = Fields(rule, rows, lines, hits, order)
    n = len(rows)
    columns = {
        "line_number": pa.array(lines.line_number[rows], pa.int64()),
        "patient_id": lines.patient_id.encoded(rows),
        "service_date": fields.date,
        "procedure_code": fields.code,
        "modifiers": lines.modifiers.encoded(rows),
        "rule_id": _constant(rule.id, n),
        "rule_name": _constant(rule.name, n),
        "severity": _constant(rule.severity, n),
        "policy_ref": _constant(rule.policy_ref, n),
        "carc": _constant(rule.carc, n),
        "source_file": lines.source_file.encoded(rows),
        "source_row": pa.array(
            lines.frame["source_row"].to_numpy(dtype=np.int64)[rows], pa.int64()
        ),
    }
    pending = Pending(
        rule=rule,
        claim=lines.claim_id.encoded(rows),
        line=lines.line_number[rows],
        code=fields.code,
        date=fields.date,
        related=fields.related_lines(),
        pieces=fields.pieces(rule.message, hits.template),
        columns=columns,
    )
    return pending, rows


@dataclass
class Fields:
    """The message fields of one rule's hits, read from the lines, each made once."""

    rule: Rule
    rows: np.ndarray
    lines: Lines
    hits: Hits
    order: np.ndarray
    _made: dict[str, Part] = field(default_factory=dict)
    pair_hit: np.ndarray = field(init=False)
    pair_line: np.ndarray = field(init=False)
    """Each pair whose flagged line is a hit, as the rule gave it (repeats included)."""

    def __post_init__(self) -> None:
        related = self.hits.related
        flagged = np.asarray(related.flagged, dtype=np.int64)
        others = np.asarray(related.lines, dtype=np.int64)
        rows = self.rows
        hit = np.searchsorted(rows, flagged)
        keep = (hit < len(rows)) & (rows[np.minimum(hit, len(rows) - 1)] == flagged)
        self.pair_hit, self.pair_line = hit[keep], others[keep]

    @property
    def code(self) -> pa.DictionaryArray:
        return self.text("code")

    @property
    def date(self) -> pa.DictionaryArray:
        return self.text("date")

    def related_lines(self) -> RelatedLines:
        """The pairs in list order (by hit, claim id, line number), repeats dropped."""
        lines, hit, others = self.lines, self.pair_hit, self.pair_line
        named = np.bincount(hit, minlength=len(self.rows))
        more = self.hits.related.total_of(self.rows) - named
        claim = text_ranks(lines.claim_id, others)
        order = np.lexsort((lines.line_number[others], claim, hit))
        hit, others = hit[order], others[order]
        # (claim id, line number) names one line, so a repeat is the same line twice in a row
        repeat = np.zeros(len(order), dtype=bool)
        if len(order) > 1:
            repeat[1:] = (hit[1:] == hit[:-1]) & (others[1:] == others[:-1])
        hit, others = hit[~repeat], others[~repeat]
        return RelatedLines(hit, lines.claim_id.encoded(others), lines.line_number[others], more)

    def text(self, name: str) -> Part:
        """Message field `name` (not a per-line one): one text per hit, dictionary-encoded,
        or one literal for all."""
        if name not in self._made:
            self._made[name] = self._make(name)
        return self._made[name]

    def _make(self, name: str) -> Part:
        if name in self.hits.fields:
            given = self.hits.fields[name]
            if isinstance(given, pa.DictionaryArray):  # few texts, made once each by the kind
                return given.take(pa.array(self.order))
            values = np.asarray(given, dtype=object)[self.order]
            return pc.dictionary_encode(_as_text(values))
        lines, rows = self.lines, self.rows
        standard: dict[str, Callable[[], Part]] = {
            "rule_id": lambda: self.rule.id,
            "code": lambda: lines.code.encoded(rows),
            "date": lambda: _date_codes(lines.days[rows]),
            "modifiers": lambda: lines.modifiers.encoded(rows),
            "setting": lambda: lines.setting.encoded(rows),
            "scheme": lambda: lines.scheme.encoded(rows),
            "component": lambda: lines.component.encoded(rows),
            "units": lambda: _number_text(lines.units[rows]),
            "related_codes": self._related_codes,
        }
        if name not in standard:
            raise KeyError(name)
        return standard[name]()

    def _related_codes(self) -> pa.DictionaryArray:
        """The distinct codes of each hit's related lines, in string order, joined."""
        codes, lines = self.lines.code, self.pair_line
        key = text_ranks(codes, lines)
        width = int(key.max()) + 1 if len(key) else 1
        pairs, _ = distinct(self.pair_hit * width + key)
        hit, rank = pairs // width, pairs % width
        texts = codes.texts_of(distinct(codes.ids[lines])[0])
        by_rank = texts.take(pc.sort_indices(texts))
        counts = np.bincount(hit, minlength=len(self.rows))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), by_rank.take(pa.array(rank)))
        return pc.dictionary_encode(pc.binary_join(lists, ", "))

    def pieces(self, default: str, templates: np.ndarray | None) -> list[Piece]:
        """The messages, one piece per distinct template."""
        if templates is None:
            return [self._piece(default, None)]
        templates = np.asarray(templates, dtype=object)[self.order]
        codes, distinct = pd.factorize(templates)
        return [self._piece(t, np.flatnonzero(codes == i)) for i, t in enumerate(distinct)]

    def _piece(self, template: str, where: np.ndarray | None) -> Piece:
        """A template filled for `where`: at once when every field it names has few distinct
        values (code, date, setting, a kind's hint), rendering each distinct combination
        once; a per-finding field (related lines, claim id) waits for `Pending.finish`."""
        n = len(self.rows) if where is None else len(where)
        parts: list[Part | Later] = []
        for literal, name, _, _ in string.Formatter().parse(template):
            if literal:
                parts.append(literal)
            if name is None:
                continue
            if name in PER_LINE_FIELDS and name not in self.hits.fields:
                parts.append(Later(name))
                continue
            value = self.text(name)
            keep_all = isinstance(value, str) or where is None
            parts.append(value if keep_all else value.take(pa.array(where)))
        piece = Piece(where, parts)
        if any(isinstance(p, Later) for p in parts):
            return piece
        fields = [p for p in parts if not isinstance(p, str)]
        if not fields:
            literal = "".join(p for p in parts if isinstance(p, str))
            piece.done = _constant(literal, n)
        else:
            combination, row = _combinations([p.indices for p in fields])
            taken = [p if isinstance(p, str) else plain(p.take(pa.array(row))) for p in parts]
            texts = pc.binary_join_element_wise(*taken, "")
            piece.done = pa.DictionaryArray.from_arrays(pa.array(combination), texts)
        piece.parts = []
        return piece


def _combine(
    pieces: list[Piece], n: int, field_text: Callable[[str], pa.Array]
) -> pa.DictionaryArray:
    """The pieces' messages as one dictionary column over the hits."""
    if len(pieces) == 1 and pieces[0].where is None:
        return _render(pieces[0], n, field_text)
    indices = np.empty(n, dtype=np.int32)
    dictionaries, offset = [], 0
    for piece in pieces:
        done = _render(piece, len(piece.where), field_text)
        indices[piece.where] = np.asarray(done.indices) + offset
        dictionaries.append(done.dictionary)
        offset += len(done.dictionary)
    return pa.DictionaryArray.from_arrays(pa.array(indices), pa.concat_arrays(dictionaries))


def _render(piece: Piece, n: int, field_text: Callable[[str], pa.Array]) -> pa.DictionaryArray:
    """A piece's messages: rendered already, or joined now per finding."""
    if piece.done is not None:
        return piece.done
    parts: list[Part] = []
    for part in piece.parts:
        if isinstance(part, Later):
            value = field_text(part.name)
            parts.append(value if piece.where is None else value.take(pa.array(piece.where)))
        else:
            parts.append(plain(part))
    texts = pc.binary_join_element_wise(*parts, "")
    return pa.DictionaryArray.from_arrays(pa.array(np.arange(n, dtype=np.int32)), texts)


def _with_related(related: pa.Array) -> pa.Array:
    wrapped = pc.binary_join_element_wise(" (with ", related, ")", "")
    return pc.if_else(pc.not_equal(related, ""), wrapped, pa.scalar("", pa.string()))


def text_ranks(factor: Factor, rows: np.ndarray) -> np.ndarray:
    """Per row, the rank of its value among the values of `rows` in string order ('' first)."""
    return dictionary_ranks(factor.positions(factor.ids[rows]), factor.with_missing)


def dictionary_ranks(indices: np.ndarray, dictionary: pa.Array) -> np.ndarray:
    """Per index, the rank of its text among the texts the indices name, in string order."""
    present, inverse = distinct(indices)
    texts = dictionary.take(pa.array(present))
    rank = np.empty(len(present), dtype=np.int64)
    rank[np.asarray(pc.sort_indices(texts))] = np.arange(len(present))
    return rank[inverse]


def _combinations(indices: list[pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """(combination number of each row, a row of each combination) of dictionary indices."""
    key, width = np.zeros(len(indices[0]), dtype=np.int64), 1
    for codes in indices:
        size = int(pc.max(codes).as_py() or 0) + 1
        if width * size >= 1 << 62:  # renumber what is seen so far before it overflows
            key, width = _renumber(key)
        key = key * size + np.asarray(codes, dtype=np.int64)
        width *= size
    combination, count = _renumber(key)
    row = np.empty(count, dtype=np.int64)
    row[combination] = np.arange(len(key))  # any row of a combination renders it
    return combination.astype(np.int32), row


def _renumber(key: np.ndarray) -> tuple[np.ndarray, int]:
    """Keys as 0..n-1 in key order (n distinct)."""
    values, inverse = distinct(key)
    return inverse, len(values)


def plain(part: Part) -> Part:
    """A dictionary-encoded text decoded (other parts as they are)."""
    if isinstance(part, pa.DictionaryArray):
        return part.dictionary.take(part.indices)
    return part


def _constant(text: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([text], pa.string())
    )


def _date_codes(days: np.ndarray) -> pa.DictionaryArray:
    """Service dates as `YYYY-MM-DD`, one text per distinct day."""
    numbers, inverse = distinct(days.astype("datetime64[D]").view(np.int64))
    texts = np.datetime_as_string(numbers.astype("datetime64[D]"), unit="D").astype(object)
    return pa.DictionaryArray.from_arrays(pa.array(inverse, pa.int32()), pa.array(texts, "string"))


def _number_text(values: np.ndarray) -> pa.DictionaryArray:
    """Numbers as printf's %g writes them, formatted once per distinct value."""
    numbers, inverse = np.unique(values, return_inverse=True)
    texts = pa.array([f"{v:g}" for v in numbers.tolist()], pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(inverse.reshape(-1), pa.int32()), texts)


def _as_text(values: np.ndarray) -> pa.Array:
    """A kind's message field (str values) as Arrow text."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values.astype(str), pa.string())

