"""Match an extract's header to the data contract's canonical columns.

Names are compared after trimming, lower-casing and turning spaces and hyphens into `_`.
Modifiers and diagnoses may come as one delimited column or as a family of numbered columns
(`modifier_1..4`, `dx_1..12`, `icd_dgns_cd1..`); both are gathered under one canonical name.
A field may also be composed of several columns read together: the CMS research files' bill
type is `CLM_FAC_TYPE_CD` + `CLM_SRVC_CLSFCTN_TYPE_CD` + `CLM_FREQ_CD`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from igrt_edits.contract import INPUT_COLUMNS, REQUIRED_COLUMNS
from igrt_edits.errors import InputError

_OTHER_NAMES: dict[str, tuple[str, ...]] = {
    "claim_id": ("claim_number", "clm_id"),
    "line_number": ("line_no", "line_num", "clm_line_num"),
    "patient_id": ("member_id", "subscriber_id", "bene_id"),
    "service_date": (
        "date_of_service",
        "dos",
        "line_from_date",
        "from_date",
        "line_1st_expns_dt",
        "rev_cntr_dt",
    ),
    "procedure_code": ("hcpcs", "hcpcs_code", "hcpcs_cd", "cpt", "cpt_code", "proc_code"),
    "units": ("units_of_service", "service_units", "qty", "line_srvc_cnt", "rev_cntr_unit_cnt"),
    "claim_type": ("nch_clm_type_cd",),
    "place_of_service": ("pos", "line_place_of_srvc_cd"),
    "bill_type": ("type_of_bill", "tob"),
    "payer": ("payer_id", "plan"),
    "patient_birth_date": ("birth_date", "dob"),
    "patient_age": ("age",),
    "beam_modality": ("modality",),
    "provider_id": ("rendering_npi", "billing_npi", "prf_physn_npi", "rndrng_physn_npi"),
    "charge_amount": ("line_charge", "charge", "line_sbmtd_chrg_amt", "rev_cntr_tot_chrg_amt"),
}
ALIASES = {name: _OTHER_NAMES.get(name, ()) for name in INPUT_COLUMNS}
"""Other names each canonical column is known by in extracts."""

# How the members of a family column are named (FAMILY_COLUMNS).
FAMILIES: dict[str, tuple[re.Pattern[str], ...]] = {
    "modifiers": (
        re.compile(r"^(?:modifier|mod)_?([1-4])$"),
        re.compile(r"^hcpcs_(1st|2nd|3rd|4th)_mdfr_cd$"),
    ),
    "diagnosis_codes": (
        re.compile(r"^(?:dx|diagnosis|diagnosis_code|icd_dgns_cd)_?(\d{1,2})$"),
        re.compile(r"^(prncpal)_dgns_cd$"),
    ),
}

COMPOSITES: dict[str, tuple[str, ...]] = {
    "bill_type": ("clm_fac_type_cd", "clm_srvc_clsfctn_type_cd", "clm_freq_cd"),
}
"""Fields read from several columns joined in order, when the file has all of them and no
column of the field itself."""
SHOWN_COLUMNS = 12
"""A message lists all the columns found up to this many; past it, the closest few."""
CLOSEST_SHOWN = 8

# A header cell that is a number or a date is a value: the file has no header row.
_DATA_LIKE = re.compile(r"^(?:\d[\d.\-/]*|\d{1,2}-[A-Za-z]{3}-\d{4})$")


def normalize_name(name: str) -> str:
    """The form a header name is compared in: trimmed, lower case, spaces/hyphens as `_`."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower().lstrip("\ufeff"))


_LOOKUP: dict[str, str] = {}
for _canonical, _aliases in ALIASES.items():
    for _name in (_canonical, *_aliases):
        _LOOKUP[_name] = _canonical


def is_contract_column(normalized: str) -> bool:
    """Whether a normalized header name is a canonical column, an alias or a family member."""
    return normalized in _LOOKUP or any(
        _family_position(family, normalized) is not None for family in FAMILIES
    )


@dataclass(frozen=True)
class ColumnMap:
    """Where each canonical column comes from in one file's header."""

    single: dict[str, str] = field(default_factory=dict)
    """canonical name -> source column name, for one-column fields."""
    families: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """`modifiers` / `diagnosis_codes` -> source columns, in order, delimited column first."""
    passthrough: tuple[str, ...] = ()
    """Source columns the contract does not name, carried to outputs untouched."""
    composites: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """canonical name -> the source columns it is joined from (read as `name.0`, `name.1`...)."""

    def source_columns(self) -> list[str]:
        """Every source column the loader must read to lint (passthrough excluded)."""
        cols = list(self.single.values())
        for members in (*self.families.values(), *self.composites.values()):
            cols.extend(members)
        return cols

    def has(self, canonical: str) -> bool:
        return (
            canonical in self.single or canonical in self.families or canonical in self.composites
        )


_ORDINALS = {"prncpal": 0, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}


def _family_position(family: str, normalized: str) -> int | None:
    """Position of a numbered family column (principal diagnosis first), or None."""
    for pattern in FAMILIES[family]:
        match = pattern.match(normalized)
        if match:
            token = match.group(1)
            return _ORDINALS[token] if token in _ORDINALS else int(token)
    return None


def match_columns(
    headers: Sequence[str],
    file: str,
    user_map: Mapping[str, str | Sequence[str]] | None = None,
) -> ColumnMap:
    """Map a header to canonical columns, or raise InputError naming the file and the problem.

    `user_map` (from configuration or `--map`) names source columns for canonical fields and
    wins over aliases. Two source columns that both claim one canonical field are an error:
    the loader will not guess which one holds the truth.
    """
    user_map = dict(user_map or {})
    by_norm: dict[str, str] = {}
    for header in headers:
        by_norm.setdefault(normalize_name(header), header)

    single: dict[str, str] = {}
    families: dict[str, list[tuple[int, str]]] = {}
    claimed: dict[str, str] = {}

    for canonical, source in user_map.items():
        sources = [source] if isinstance(source, str) else list(source)
        found = []
        for name in sources:
            header = by_norm.get(normalize_name(name))
            if header is None:
                raise InputError(
                    f"{file}: the mapping {canonical} = {name!r} names a column the file does"
                    f" not have (columns found: {columns_found(headers, (name,))})"
                )
            found.append(header)
            claimed[header] = canonical
        if canonical in FAMILIES:
            families[canonical] = [(i, h) for i, h in enumerate(found)]
        else:
            single[canonical] = found[0]

    for header in headers:
        if header in claimed:
            continue
        norm = normalize_name(header)
        canonical = _LOOKUP.get(norm)
        if canonical is not None and canonical in user_map:
            continue
        if canonical is not None and canonical not in FAMILIES:
            if canonical in single and single[canonical] != header:
                raise InputError(
                    f"{file}: columns {single[canonical]!r} and {header!r} both match"
                    f" {canonical}; name the one to use with --map {canonical}=COLUMN"
                )
            single[canonical] = header
            claimed[header] = canonical
            continue
        for family in FAMILIES:
            if family in user_map:
                continue
            position = -1 if canonical == family else _family_position(family, norm)
            if position is not None:
                families.setdefault(family, []).append((position, header))
                claimed[header] = family
                break

    missing = [c for c in REQUIRED_COLUMNS if c not in single]
    if missing:
        raise InputError(_missing_message(file, missing[0], headers, claimed))
    composites = _composites(by_norm, single, claimed)
    passthrough = tuple(h for h in headers if h not in claimed)
    return ColumnMap(
        single=single,
        families={
            k: tuple(h for _, h in sorted(v, key=lambda p: p[0])) for k, v in families.items()
        },
        passthrough=passthrough,
        composites=composites,
    )


def _composites(by_norm: dict[str, str], single: dict, claimed: dict) -> dict:
    found = {}
    for canonical, parts in COMPOSITES.items():
        headers = [by_norm.get(part) for part in parts]
        if canonical in single or any(h is None or h in claimed for h in headers):
            continue
        found[canonical] = tuple(headers)
        claimed.update(dict.fromkeys(headers, canonical))
    return found


def columns_found(headers: Sequence[str], wanted: Sequence[str]) -> str:
    """The header's columns for a message: all of a short header; of a long one, those most
    like the names `wanted`, closest first, then how many more there are."""
    if not headers:
        return "(none)"
    if len(headers) <= SHOWN_COLUMNS:
        return ", ".join(headers)
    norms = [normalize_name(w) for w in wanted]

    def likeness(header: str) -> float:
        name = normalize_name(header)
        return max(difflib.SequenceMatcher(None, w, name).ratio() for w in norms)

    closest = sorted(headers, key=likeness, reverse=True)[:CLOSEST_SHOWN]
    return f"{', '.join(closest)} and {len(headers) - len(closest)} more"


def _missing_message(file: str, missing: str, headers: Sequence[str], claimed: dict) -> str:
    if not claimed and sum(bool(_DATA_LIKE.match(h.strip())) for h in headers) >= 2:
        # A headerless file: its first line holds member data, which a message must not echo.
        return (
            f"{file}: no header row: the first line holds values, not column names"
            f" (the file needs a header naming at least {', '.join(REQUIRED_COLUMNS)})"
        )
    candidates = [h for h in headers if h not in claimed]
    names = {normalize_name(h): h for h in candidates}
    wanted = (missing, *ALIASES[missing])
    best: tuple[float, str] | None = None
    for want in wanted:
        for norm, header in names.items():
            score = difflib.SequenceMatcher(None, want, norm).ratio()
            if best is None or score > best[0]:
                best = (score, header)
    hint = ""
    if best is not None and best[0] >= 0.5:
        hint = f"; closest match: {best[1]!r} (use --map {missing}={best[1]} if that is it)"
    found = columns_found(headers, wanted)
    return f"{file}: required column {missing!r} not found (columns found: {found}){hint}"
