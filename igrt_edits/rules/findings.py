"""The findings of one rule, built column by column in Arrow.

A rule's hits are positions of flagged lines, a few message fields per hit and the pairs of
(flagged line, related line). Every finding column is made from whole columns with Arrow and
numpy kernels, never one Python object per finding:

- texts that repeat across findings (rule id, name, severity, policy reference, CARC, source
  file, code, modifiers, date) stay dictionary-encoded, indices into a few distinct values;
- messages are joined from their parts with Arrow's variable-length string kernels, only the
  fields a template names being made;
- related lines become a list column by offsets, ordered by claim id and line number, and the
  message's list of them is that column joined;
- fingerprints are hashed over the joined key bytes (see util.hashing).
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.catalog.rule import Rule
from igrt_edits.rules.lines import Factor, Hits, Lines, Related
from igrt_edits.util.hashing import fnv1a64, hex_strings

TEXT = pa.dictionary(pa.int32(), pa.string())
"""A repeated text column of the findings: indices into its distinct values."""

Part = pa.Array | str
"""A message part: one text per finding, or one literal for all."""


def rule_findings(rule: Rule, hits: Hits, lines: Lines) -> tuple[dict[str, pa.Array], np.ndarray]:
    """The finding columns of one rule's hits, and the flagged lines' positions, in line order
    (the engine puts the findings of all rules in the contract's order)."""
    order = np.argsort(hits.rows, kind="stable")
    rows = hits.rows[order]
    built = Built(rule, rows, lines, _related_pairs(rows, hits.related, lines), hits, order)
    claim, line = built.text("claim_id"), built.text("line_number")
    code, date, n = built.code, built.date, len(rows)
    return {
        "claim_id": claim,
        "line_number": pa.array(lines.line_number[rows], pa.int64()),
        "patient_id": lines.patient_id.arrow_text(rows),
        "service_date": built.date_codes,
        "procedure_code": lines.code.encoded(rows),
        "modifiers": lines.modifiers.encoded(rows),
        "rule_id": _constant(rule.id, n),
        "rule_name": _constant(rule.name, n),
        "severity": _constant(rule.severity, n),
        "message": built.messages(rule.message, hits.template),
        "related_lines": built.related.lists,
        "policy_ref": _constant(rule.policy_ref, n),
        "carc": _constant(rule.carc, n),
        "source_file": lines.source_file.encoded(rows),
        "source_row": pa.array(
            lines.frame["source_row"].to_numpy(dtype=np.int64)[rows], pa.int64()
        ),
        "fingerprint": fingerprints(rule.id, claim, line, code, date),
    }, rows


def fingerprints(rule_id: str, claim: pa.Array, line: pa.Array, code, date) -> pa.Array:
    """Stable 16-hex-digit FNV-1a 64 hashes of `rule|claim|line|code|date` (UTF-8)."""
    texts = pc.binary_join_element_wise(rule_id, claim, line, code, date, "|")
    return hex_strings(fnv1a64(texts))


@dataclass
class RelatedPairs:
    """The related lines of each hit: pairs ordered by hit, claim id and line number."""

    hit: np.ndarray
    """Hit number of each pair (sorted)."""
    line: np.ndarray
    """Position of each pair's related line."""
    named: np.ndarray
    """Per hit, the pairs the rule paired it with (before dropping repeats)."""
    total: np.ndarray
    """Per hit, all its related lines, named or not."""
    all_hits: np.ndarray
    all_lines: np.ndarray
    """Every pair as the rule gave it (repeats included), for the related codes."""
    lines: Lines

    @cached_property
    def refs(self) -> pa.Array:
        """`claim:line` of each pair."""
        claims = self.lines.claim_id.arrow_text(self.line)
        numbers = pc.cast(pa.array(self.lines.line_number[self.line], pa.int64()), pa.string())
        return pc.binary_join_element_wise(claims, numbers, ":")

    @cached_property
    def lists(self) -> pa.Array:
        """The related lines of each hit as a list column."""
        counts = np.bincount(self.hit, minlength=len(self.named))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), self.refs)

    @cached_property
    def text(self) -> pa.Array:
        """The related lines joined with ', ', then "and N more" for those not named."""
        joined = pc.binary_join(self.lists, ", ")
        more = self.total - self.named
        if not (more > 0).any():
            return joined
        tail = pc.binary_join_element_wise(
            " and ", pc.cast(pa.array(np.maximum(more, 0)), pa.string()), " more", ""
        )
        return pc.if_else(pa.array(more > 0), pc.binary_join_element_wise(joined, tail, ""), joined)


def _related_pairs(rows: np.ndarray, related: Related, lines: Lines) -> RelatedPairs:
    """Pairs whose flagged line is among `rows` (sorted), repeats dropped, in list order."""
    flagged = np.asarray(related.flagged, dtype=np.int64)
    others = np.asarray(related.lines, dtype=np.int64)
    hit = np.searchsorted(rows, flagged)
    keep = (hit < len(rows)) & (rows[np.minimum(hit, len(rows) - 1)] == flagged)
    hit, others = hit[keep], others[keep]
    named = np.bincount(hit, minlength=len(rows))
    total = related.total_of(rows)
    claim = text_ranks(lines.claim_id, others)
    order = np.lexsort((lines.line_number[others], claim, hit))
    pair_hit, pair_line = hit[order], others[order]
    # (claim id, line number) names one line, so a repeat is the same line twice in a row
    repeat = np.zeros(len(order), dtype=bool)
    if len(order) > 1:
        repeat[1:] = (pair_hit[1:] == pair_hit[:-1]) & (pair_line[1:] == pair_line[:-1])
    return RelatedPairs(pair_hit[~repeat], pair_line[~repeat], named, total, hit, others, lines)


def text_ranks(factor: Factor, rows: np.ndarray) -> np.ndarray:
    """Per row, the rank of its value among the values of `rows` in string order ('' first)."""
    ids = factor.ids[rows]
    present, inverse = np.unique(ids, return_inverse=True)
    texts = factor.texts_of(present)
    rank = np.empty(len(present), dtype=np.int64)
    rank[np.asarray(pc.sort_indices(texts))] = np.arange(len(present))
    return rank[inverse.reshape(-1)]


@dataclass
class Built:
    """What the columns of one rule's findings are made from, each made once when asked."""

    rule: Rule
    rows: np.ndarray
    lines: Lines
    related: RelatedPairs
    hits: Hits
    order: np.ndarray
    _texts: dict[str, Part] = field(default_factory=dict)

    @cached_property
    def date_codes(self) -> pa.DictionaryArray:
        """Service dates as `YYYY-MM-DD`, one text per distinct day."""
        days, inverse = np.unique(self.lines.days[self.rows], return_inverse=True)
        texts = pa.array(np.datetime_as_string(days, unit="D").astype(object), pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(inverse.reshape(-1), pa.int32()), texts)

    @cached_property
    def date(self) -> pa.Array:
        return self.date_codes.dictionary.take(self.date_codes.indices)

    @cached_property
    def code(self) -> pa.Array:
        return self.lines.code.arrow_text(self.rows)

    def text(self, name: str) -> Part:
        """Message field `name` as one text per finding (or one literal for all)."""
        if name not in self._texts:
            self._texts[name] = self._make(name)
        return self._texts[name]

    def _make(self, name: str) -> Part:
        if name in self.hits.fields:
            return _as_text(np.asarray(self.hits.fields[name], dtype=object)[self.order])
        standard: dict[str, Callable[[], Part]] = {
            "rule_id": lambda: self.rule.id,
            "code": lambda: self.code,
            "date": lambda: self.date,
            "claim_id": lambda: self.lines.claim_id.arrow_text(self.rows),
            "line_number": lambda: pc.cast(
                pa.array(self.lines.line_number[self.rows], pa.int64()), pa.string()
            ),
            "modifiers": lambda: self.lines.modifiers.arrow_text(self.rows),
            "setting": lambda: self.lines.setting.arrow_text(self.rows),
            "scheme": lambda: self.lines.scheme.arrow_text(self.rows),
            "component": lambda: self.lines.component.arrow_text(self.rows),
            "units": lambda: _number_text(self.lines.units[self.rows]),
            "related": lambda: self.related.text,
            "with_related": self._with_related,
            "related_codes": self._related_codes,
        }
        if name not in standard:
            raise KeyError(name)
        return standard[name]()

    def _with_related(self) -> pa.Array:
        related = self.related.text
        wrapped = pc.binary_join_element_wise(" (with ", related, ")", "")
        return pc.if_else(pc.not_equal(related, ""), wrapped, pa.scalar("", pa.string()))

    def _related_codes(self) -> pa.Array:
        """The distinct codes of each hit's related lines, in string order, joined."""
        related = self.related
        codes = self.lines.code
        key = text_ranks(codes, related.all_lines)
        width = int(key.max()) + 1 if len(key) else 1
        pairs = np.unique(related.all_hits * width + key)
        hit, rank = pairs // width, pairs % width
        ids = np.unique(codes.ids[related.all_lines])
        texts = codes.texts_of(ids)
        by_rank = texts.take(pc.sort_indices(texts))
        counts = np.bincount(hit, minlength=len(self.rows))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), by_rank.take(pa.array(rank)))
        return pc.binary_join(lists, ", ")

    def messages(self, default: str, templates: np.ndarray | None) -> pa.Array:
        """Each finding's template filled from its fields: one vector join per template."""
        n = len(self.rows)
        if templates is None:
            return self._render(default, None, n)
        templates = np.asarray(templates, dtype=object)[self.order]
        codes, distinct = pd.factorize(templates)
        pieces, positions = [], []
        for index, template in enumerate(distinct):
            where = np.flatnonzero(codes == index)
            pieces.append(self._render(template, where, len(where)))
            positions.append(where)
        placed = np.empty(n, dtype=np.int64)
        placed[np.concatenate(positions)] = np.arange(n)
        return pa.concat_arrays(pieces).take(pa.array(placed))

    def _render(self, template: str, where: np.ndarray | None, n: int) -> pa.Array:
        parts: list[Part] = []
        for literal, name, _, _ in string.Formatter().parse(template):
            if literal:
                parts.append(literal)
            if name is not None:
                value = self.text(name)
                keep_all = isinstance(value, str) or where is None
                parts.append(value if keep_all else value.take(pa.array(where)))
        if not any(isinstance(p, pa.Array) for p in parts):
            return pa.array(np.full(n, "".join(p for p in parts if isinstance(p, str)), object))
        return pc.binary_join_element_wise(*parts, "")


def _constant(text: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([text], pa.string())
    )


def _number_text(values: np.ndarray) -> pa.Array:
    """Numbers as printf's %g writes them, formatted once per distinct value."""
    distinct, inverse = np.unique(values, return_inverse=True)
    texts = pa.array([f"{v:g}" for v in distinct.tolist()], pa.string())
    return texts.take(pa.array(inverse.reshape(-1)))


def _as_text(values: np.ndarray) -> pa.Array:
    """A kind's message field (str values) as Arrow text."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values.astype(str), pa.string())
