"""Shared test helpers: the repository layout and the shared third-party data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def catalog():
    from igrt_edits.catalog.load import load_catalog

    return load_catalog()


def shared_path(*parts: str) -> Path:
    """A file under ../shared, skipping the test when that folder is absent (a user's machine)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path
