"""Rule kinds: the engine code that rules in edits/ parameterize.

One table maps a kind's name (the `kind` key of a rule file) to its class. A new rule of an
existing kind is a data file; a new kind is a class here and one entry in KINDS.
"""

from __future__ import annotations

from igrt_edits.rules.kinds.base import Kind, RunOptions
from igrt_edits.rules.kinds.co_occurrence import CoOccurrence
from igrt_edits.rules.kinds.code_by_date import CodeByDate
from igrt_edits.rules.kinds.code_by_scheme import CodeByScheme
from igrt_edits.rules.kinds.distinct_count import DistinctCount
from igrt_edits.rules.kinds.indication import Indication
from igrt_edits.rules.kinds.modifier_check import ModifierCheck
from igrt_edits.rules.kinds.units_sum import UnitsSum

KINDS: dict[str, type[Kind]] = {
    kind.name: kind
    for kind in (
        CodeByDate,
        CodeByScheme,
        CoOccurrence,
        DistinctCount,
        UnitsSum,
        Indication,
        ModifierCheck,
    )
}

__all__ = ["KINDS", "Kind", "RunOptions"]
