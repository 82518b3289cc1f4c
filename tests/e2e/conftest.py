"""Fixtures of the end-to-end tests that start the service as a process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.make_run import Run, make_runs


@pytest.fixture
def start_make_run(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Run]]:
    """Starts ``make run`` with the given extra environment; every run is killed after."""
    yield from make_runs(tmp_path)
