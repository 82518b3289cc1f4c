"""How far a search walks its list in order before it reads the index
(``app.services.listing.first_page``); the statements themselves are checked against
a real database in tests/integration/test_search_plans.py."""

from __future__ import annotations

import asyncio

from app.services.listing import LONGEST_WALK, WALKS, WINDOW, first_page, further_walk


def test_the_rows_walked_predict_the_next_walk_with_twice_the_distance() -> None:
    # 15 of 21 in the first 1,000 rows: a page lies about 1,400 rows in; walk 2,800.
    assert further_walk(15, WINDOW, 21, indexed=True) == 2_800
    assert further_walk(3, WINDOW, 21, indexed=True) == 14_000
    assert further_walk(2, 3, 3, indexed=True) == 9  # rounded up
    # The share over every row walked so far predicts the next walk.
    assert further_walk(20, 2_800, 21, indexed=True) == 5_880


def test_a_page_too_far_off_is_read_from_the_index_unless_there_is_no_trigram() -> None:
    # 2 of 21: 21,000 rows, beyond the longest walk.
    assert LONGEST_WALK < 21_000
    assert further_walk(2, WINDOW, 21, indexed=True) is None
    assert further_walk(2, WINDOW, 21, indexed=False) == 21_000
    assert further_walk(1, WINDOW, 21, indexed=False) == 42_000


def test_a_search_without_matches_in_the_rows_walked_reads_the_index() -> None:
    assert further_walk(0, WINDOW, 21, indexed=True) is None
    assert further_walk(0, WINDOW, 21, indexed=False) is None


def run(search: str, found: dict[int, int], limit: int = 21) -> list[object]:
    """The steps ``first_page`` takes when a walk of ``rows`` finds ``found[rows]``."""
    steps: list[object] = []

    async def walk(rows: int) -> list[int]:
        steps.append(rows)
        return list(range(min(found.get(rows, limit), limit)))

    async def matches() -> list[int]:
        steps.append("index")
        return []

    asyncio.run(first_page(search, limit, walk, matches))
    return steps


def test_first_page_stops_at_the_first_step_that_fills_the_page() -> None:
    assert run("abc", {}) == [WINDOW]
    assert run("abc", {WINDOW: 15}) == [WINDOW, 2_800]
    assert run("abc", {WINDOW: 15, 2_800: 20}) == [WINDOW, 2_800, 5_880]
    assert run("abc", {WINDOW: 2}) == [WINDOW, "index"]
    assert run("ab", {WINDOW: 2}) == [WINDOW, 21_000]
    assert run("ab", {WINDOW: 0}) == [WINDOW, "index"]


def test_first_page_reads_the_index_after_the_last_walk() -> None:
    assert WALKS == 3
    assert run("abc", {WINDOW: 15, 2_800: 20, 5_880: 20}) == [WINDOW, 2_800, 5_880, "index"]
    # A walk that predicts the page past the longest walk stops the walking.
    assert run("abc", {WINDOW: 15, 2_800: 3}) == [WINDOW, 2_800, "index"]
    # Without a trigram, as far as the walks predict.
    assert run("ab", {WINDOW: 1, 42_000: 1, 1_764_000: 1}) == [WINDOW, 42_000, 1_764_000, "index"]
