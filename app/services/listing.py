"""Keyset-paginated lists of customers, and balances by id.

Lists are ordered by (name, id) and read from the (business_id, name, id) indexes: a
page after a cursor is an index range scan that stops after ``limit`` rows, however
deep the page. ``search`` is a case-insensitive substring of the name or the phone
(of the lower-cased ``search_text``, kept by a trigger; products:
``app.services.product_lists``). A search of three characters or more is a ``LIKE``
of the lower-cased pattern, served by the trigram index where the server has one
(migrations 0020 and 0021: ``LIKE`` is marked leakproof, so the index can be used
under Row Level Security); shorter ones, and every search on a server without it,
filter all the business's rows. Either way the matches are read first and then
sorted: walking the name index instead is quick when matches are common but visits
every row in name order when they are rare, and a cached generic plan would always
walk it. Each combination of filters is its own constant statement, so every
statement has a stable plan. Before that, a search looks through the first
``WINDOW`` customers by name: if they hold a whole page of matches, that is the page
(no match sorts before them), so common matches never read the index at all; if they
hold part of one, walks further may complete it (``first_page``).  A walk reads the
name index only (it carries ``search_text``, migration 0026), and only the page's
customers are read whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from typing import Any, NamedTuple

from app.domain.overdue import OverdueStatus
from app.domain.records import CustomerRecord
from app.services.as_of import AS_OF, CACHED_POSITION, CUTOFF
from app.services.customers import CUSTOMER_COLUMNS, CUSTOMER_FROM, customer_from_row
from app.services.overdue import STATUS_COLUMNS, status_from_row
from app.services.reads import ReadQuery
from app.services.unit_of_work import TENANT, UnitsOfWork


def like_pattern(search: str) -> str:
    """A LIKE pattern matching ``search`` literally anywhere in the text."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


TRIGRAM = 3
"""pg_trgm looks up three-character pieces: shorter searches cannot use its index."""
LONGEST_SEARCHABLE = 1000
"""Longer than any searchable text (a name is at most 200 characters, a SKU and a
barcode 64 each, a phone 40): a longer search matches nothing and is not sent."""


def search_condition(column: str, search: str) -> tuple[str, dict[str, str]]:
    """The condition and parameters matching ``search`` literally anywhere in ``column``
    (lower-cased text).  Each returned condition is one constant SQL text."""
    if len(search) >= TRIGRAM:
        # LIKE on the lower-cased text: what ILIKE matches, without folding every row's
        # case again (migration 0021_search_like).  The pattern is lower-cased once, in
        # an InitPlan: as lower(:pattern) a generic plan lower-cases it for every row.
        return f"{column} LIKE (SELECT lower(:pattern))", {"pattern": like_pattern(search)}
    return f"strpos({column}, (SELECT lower(:search))) > 0", {"search": search}


WINDOW = 1_000
"""Rows a search first looks through in list order (``customers_page``, ``products_page``)."""
LONGEST_WALK = 20_000
"""The most rows a search with a trigram to look up walks in list order before it
reads its matches from the index instead (``first_page``)."""
WALKS = 3
"""The most walks a search takes (the first ``WINDOW`` included) before it reads its
matches from the index, or filters every row."""


def further_walk(found: int, walked: int, limit: int, indexed: bool) -> int | None:
    """How many rows from the start of the list the next walk should look through when
    the first ``walked`` rows held ``found`` matches, fewer than ``limit``; ``None``:
    read the matches from the index (or filter every row) instead.

    The share of matches so far predicts how far a whole page lies; the walk goes
    twice as far.  A search without a trigram (``indexed`` false) has nothing cheaper
    than the walk, which stops at the page, where the alternative filters every row.
    One with a trigram walks at most ``LONGEST_WALK`` rows: a walked row is read from
    the list's index only (migration 0026), about 0.25 us, against about 1 us for a
    match read through the trigram index, and more when the index cannot tell matches
    from the rest (a search such as ``'r 9'``, whose trigrams are in most rows);
    bench/README.md, "2026-12-05, fourth machine: search walks the index only".
    """
    if found == 0:
        return None
    rows = -(-2 * walked * limit // found)
    return rows if not indexed or rows <= LONGEST_WALK else None


async def first_page(
    search: str,
    limit: int,
    walk: Callable[[int], Awaitable[list[Any]]],
    matches: Callable[[], Awaitable[list[Any]]],
) -> list[Any]:
    """The page of a search: from a walk of the list in its order (``walk(rows)``: the
    matches among the first ``rows`` rows, up to ``limit``), going further while the
    rows walked predict the page close (``further_walk``, at most ``WALKS`` walks),
    else ``matches()``, every match read and sorted."""
    rows, indexed = WINDOW, len(search) >= TRIGRAM
    for _ in range(WALKS):
        page = await walk(rows)
        if len(page) == limit:
            return page
        further = further_walk(len(page), rows, limit, indexed)
        if further is None:
            break
        rows = further
    return await matches()


def searchable(search: str | None) -> bool:
    return search is None or len(search) <= LONGEST_SEARCHABLE


@cache
def _customers_statement(
    *,
    search: str | None,
    owing: bool | None,
    after: bool,
    overdue: bool = False,
    archived: bool = False,
    window: bool = False,
) -> ReadQuery:
    """With ``overdue``, each row also carries its overdue status now (``STATUS_COLUMNS``);
    with ``archived``, archived customers are listed too; ``search`` is the condition of
    ``search_condition``, or ``None``; with ``window``, it is applied to the first
    ``WINDOW`` customers by name only."""
    conditions = [f"c.business_id = {TENANT}"]
    if not archived:
        conditions.append("c.archived_at IS NULL")
    if owing is not None:
        # balance > 0 exactly when oldest_unpaid_at is set (customers_check1), which is
        # how customers_owing_idx keeps the customers who owe.
        unpaid = "c.oldest_unpaid_at IS NOT NULL" if owing else "c.oldest_unpaid_at IS NULL"
        conditions.append(unpaid)
    if after:
        conditions.append("(c.name, c.id) > (:after_name, :after_id)")
    paged = ""
    if search is not None:
        listed = " AND ".join(conditions)
        if window:
            # The walk reads customers_name_idx only (its columns are in it, 0026).
            rows = (f"(SELECT c.id, c.name, c.search_text FROM customers c WHERE {listed}"
                    f" ORDER BY c.name, c.id LIMIT :window) c WHERE {search}")  # fmt: skip
        else:
            # The business's matches, read first (OFFSET 0: a generic plan never walks
            # the name order hoping to meet rare ones), then sorted.
            rows = f"(SELECT c.id, c.name FROM customers c WHERE {listed} AND {search} OFFSET 0) c"
        # Only the page's customers are read whole.
        paged = f"(SELECT c.id FROM {rows} ORDER BY c.name, c.id LIMIT :limit) w CROSS JOIN "
        conditions = [f"c.id = w.id AND c.business_id = {TENANT}"]
    where = " AND ".join(conditions)
    columns, source, ctes = CUSTOMER_COLUMNS, paged + CUSTOMER_FROM, []
    if overdue:
        columns += f", {STATUS_COLUMNS}"
        source += f" CROSS JOIN q {CUTOFF} {CACHED_POSITION}"
        ctes.append(AS_OF)
    with_ = f"WITH {', '.join(ctes)}" if ctes else ""
    return ReadQuery(
        f"{with_} SELECT {columns} FROM {source} WHERE {where} ORDER BY c.name, c.id LIMIT :limit"
    )


class ListedCustomer(NamedTuple):
    record: CustomerRecord
    overdue_now: OverdueStatus | None


async def customers_page(
    units: UnitsOfWork,
    *,
    limit: int,
    after: tuple[str, int] | None,
    search: str | None,
    owing: bool | None,
    overdue: bool = False,
    include_archived: bool = False,
) -> list[ListedCustomer]:
    """Up to ``limit`` customers after the (name, id) ``after``, ordered by name then id.

    ``owing``: ``True`` keeps positive balances, ``False`` the rest, ``None`` everyone.
    With ``overdue``, each customer's overdue status now is read in the same statement.
    """
    if not searchable(search):
        return []
    params: dict[str, Any] = {"limit": limit}
    condition = None
    if search:
        condition, search_params = search_condition("c.search_text", search)
        params.update(search_params)
    shape = {
        "search": condition, "owing": owing, "after": after is not None, "overdue": overdue,
        "archived": include_archived,
    }  # fmt: skip
    if after is not None:
        params["after_name"], params["after_id"] = after
    if overdue:
        params["as_of"] = None
    everyone = _customers_statement(**shape)
    if search:
        window = _customers_statement(**shape, window=True)
        rows = await first_page(
            search, limit,
            lambda rows: window.fetch(units, {**params, "window": rows}),
            lambda: everyone.fetch(units, params),
        )  # fmt: skip
    else:
        rows = await everyone.fetch(units, params)
    return [
        ListedCustomer(customer_from_row(row), status_from_row(row) if overdue else None)
        for row in rows
    ]


class Balance(NamedTuple):
    customer_id: int
    balance: int
    credit_limit: int

    @property
    def available_credit(self) -> int:
        return max(self.credit_limit - self.balance, 0)


_BALANCES = ReadQuery(
    "SELECT c.id, c.balance, c.credit_limit FROM customers c"
    f" WHERE c.business_id = {TENANT} AND c.id = ANY(CAST(:ids AS bigint[]))"
)


async def balances(units: UnitsOfWork, *, customer_ids: Sequence[int]) -> dict[int, Balance]:
    rows = await _BALANCES.fetch(units, {"ids": list(customer_ids)})
    return {row["id"]: Balance(row["id"], row["balance"], row["credit_limit"]) for row in rows}
