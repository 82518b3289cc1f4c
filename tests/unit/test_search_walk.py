"""How far a search walks its list in order before it reads the index
(``app.services.listing.first_page``); the statements themselves are checked against
a real database in tests/integration/test_search_plans.py."""

from __future__ import annotations

import asyncio

from app.services.listing import LONGEST_WALK, WINDOW, first_page, further_walk


def test_the_first_window_predicts_the_walk_with_half_again_to_spare() -> None:
    # 15 of 21 in the first 1,000 rows: 6 more at 15 per 1,000, plus half: 600 rows.
    assert further_walk(15, 21, indexed=True) == WINDOW + 600
    # 7 of 21: 3,000 more rows, beyond the longest walk; the index serves it, unless
    # the search has no trigram to look up.
    assert WINDOW + 3_000 > LONGEST_WALK
    assert further_walk(7, 21, indexed=True) is None
    assert further_walk(7, 21, indexed=False) == WINDOW + 3_000
    assert further_walk(1, 21, indexed=False) == WINDOW + 30_000
    assert further_walk(2, 3, indexed=True) == WINDOW + 750  # rounded up


def test_a_search_without_matches_in_the_first_window_reads_the_index() -> None:
    assert further_walk(0, 21, indexed=True) is None
    assert further_walk(0, 21, indexed=False) is None


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
    assert run("abc", {WINDOW: 15}) == [WINDOW, WINDOW + 600]
    assert run("abc", {WINDOW: 15, WINDOW + 600: 20}) == [WINDOW, WINDOW + 600, "index"]
    assert run("abc", {WINDOW: 3}) == [WINDOW, "index"]
    assert run("ab", {WINDOW: 3}) == [WINDOW, WINDOW + 9_000]
    assert run("ab", {WINDOW: 0}) == [WINDOW, "index"]
