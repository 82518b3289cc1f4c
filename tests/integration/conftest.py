"""Fixtures of the migration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.db import create_database, drop_database


@pytest.fixture
def scratch_databases(server: str) -> Iterator[tuple[str, str]]:
    """Two empty databases: one to migrate to an earlier revision, one to round-trip."""
    urls = (create_database(server, prefix="credit_ledger_earlier"),
            create_database(server, prefix="credit_ledger_round_trip"))  # fmt: skip
    yield urls
    for url in urls:
        drop_database(server, url)
