"""Redaction: patient ids replaced by keyed tokens, birth dates dropped, in every output.

A token is `R-` and the first 16 hex digits of HMAC-SHA256(key, patient id): the same member
always maps to the same token under one key, and without the key a token cannot be turned
back into an id or checked against a guessed one. Tokens are computed once per distinct id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from igrt_edits.errors import ConfigError

DEFAULT_KEY_ENV = "IGRT_EDITS_REDACT_KEY"
TOKEN_PREFIX = "R-"
TOKEN_HEX_DIGITS = 16
BIRTH_DATE_VALUE = r"(patient_birth_date ').*?(' )"
"""A birth date quoted in a reject reason (the normalizer names the bad value)."""


def key_from_env(name: str = DEFAULT_KEY_ENV) -> bytes:
    """The redaction key held by environment variable `name`; an error when it is unset."""
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(
            f"--redact needs a key: set the environment variable {name} (or name another"
            " variable with --redact-key-env)"
        )
    return value.encode("utf-8")


@dataclass(frozen=True)
class Redactor:
    """Maps patient ids to keyed tokens."""

    key: bytes

    def token(self, patient_id: str) -> str:
        digest = hmac.new(self.key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return TOKEN_PREFIX + digest[:TOKEN_HEX_DIGITS]

    def tokens(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """Tokens for an array of ids (missing ids stay missing), hashing each id once."""
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        mapped = np.array([self.token(str(u)) for u in uniques] + [None], dtype=object)
        return mapped[codes]  # code -1 (missing) picks the trailing None

    def arrow(self, column: pa.ChunkedArray | pa.Array) -> pa.Array:
        """An Arrow column of ids as tokens (text), hashing each distinct id once."""
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.unify_dictionaries().combine_chunks()
        dictionary = encoded.dictionary.cast(pa.string()).to_numpy(zero_copy_only=False)
        tokens = pa.array(self.tokens(dictionary), pa.string())
        return pa.DictionaryArray.from_arrays(encoded.indices, tokens).cast(pa.string())

    def findings(self, findings: pd.DataFrame) -> pd.DataFrame:
        """A copy of `findings` with patient ids replaced by tokens."""
        out = findings.copy()
        out["patient_id"] = self.tokens(findings["patient_id"].to_numpy(dtype=object))
        return out

    def rejects(self, rejects: pa.Table) -> pa.Table:
        """Rejects with any birth date quoted in a reason removed."""
        index = rejects.schema.get_field_index("reason")
        scrubbed = pc.replace_substring_regex(
            rejects.column("reason"), BIRTH_DATE_VALUE, r"\1[redacted]\2"
        )
        return rejects.set_column(index, "reason", scrubbed)
