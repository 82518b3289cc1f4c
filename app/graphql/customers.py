"""Customer type, lookups and the customer mutations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.domain.records import CustomerRecord
from app.domain.results import Missing, Problems
from app.graphql import loaders
from app.graphql.audited import audited
from app.graphql.common import (
    InvalidInput,
    NotFound,
    gid,
    read_id,
    read_money,
    read_terms,
    read_text,
)
from app.graphql.context import Info
from app.graphql.ledger import LedgerEntry, ledger_page
from app.graphql.lookahead import asks_for_now
from app.graphql.overdue_status import OverdueStatus, overdue_loader
from app.graphql.pagination import (
    DEFAULT_PAGE_SIZE,
    Connection,
    connection,
    decode_name_id,
    encode_cursor,
    page_size,
    read_search,
)
from app.graphql.permissions import OWNER, READ, WRITE, IsOwner
from app.graphql.reports import From
from app.graphql.scalars import Money, money
from app.graphql.statement import CustomerStatement, resolve_statement
from app.services import archive, listing
from app.services import customers as service

CURSOR_KIND = "customers"

if TYPE_CHECKING:
    from app.graphql.orders import Order


@strawberry.type
class Customer:
    id: strawberry.ID
    name: str
    phone: str | None
    email: str | None
    credit_limit: Money
    payment_terms_days: int = strawberry.field(
        description="Days until a charge falls due: the customer's own terms, else the business's."
    )
    balance: Money = strawberry.field(description="What the customer owes now.")
    available_credit: Money = strawberry.field(
        description="Credit limit minus balance, never below zero."
    )
    over_limit: bool = strawberry.field(
        description=(
            "Owes more than the credit limit (a payment reversed, a limit lowered):"
            " new credit purchases are refused until the balance is back under it."
        )
    )
    created_at: datetime
    archived_at: datetime | None = strawberry.field(
        description="When archived: left out of lists unless asked, cannot buy."
    )
    record: strawberry.Private[CustomerRecord]
    overdue_now: strawberry.Private[OverdueStatus | None] = None
    """Read with the page this customer came in, when the query asked for it."""

    @strawberry.field(description="Overdue position at `asOf` (default: now).")
    def overdue(self, info: Info, as_of: datetime | None = None) -> OverdueStatus:
        # A plain resolver: when the page already read the status (the common case), no
        # coroutine per customer; otherwise the per-request loader batches the page.
        if as_of is None and self.overdue_now is not None:
            return self.overdue_now
        return overdue_loader(info).load((self.record.id, as_of))  # type: ignore[return-value]

    @strawberry.field(
        permission_classes=OWNER,
        description=(
            "The ledger from `from` to `to` (the store's days, inclusive, at most 5 years) with "
            "opening, running and closing balances."
        ),
    )
    async def statement(self, info: Info, from_: From, to: date) -> CustomerStatement:
        return await resolve_statement(self.record.id, info, from_, to)

    @strawberry.field(description="Ledger entries, newest first.")
    async def ledger(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[LedgerEntry]:
        return await ledger_page(info, customer_id=self.record.id, first=first, after=after)

    @strawberry.field(description="The customer's orders, newest first.")
    async def orders(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Annotated[Order, strawberry.lazy("app.graphql.orders")]]:
        # app.graphql.orders builds on Customer, so it is imported on first use.
        from app.graphql.orders import customer_orders  # noqa: PLC0415

        return await customer_orders(info, self.record, first, after)

    @strawberry.field(description="How many orders the customer has made.")
    async def total_purchases(self, info: Info) -> int:
        totals = await loaders.customer_totals(info).load(self.record.id)
        return 0 if totals is None else totals[0]

    @strawberry.field(description="What the customer's orders came to, all of them.")
    async def total_spent(self, info: Info) -> Money:
        totals = await loaders.customer_totals(info).load(self.record.id)
        return money(0 if totals is None else totals[1], info.context.minor_units)

    @classmethod
    def of(
        cls, record: CustomerRecord, minor_units: int, overdue_now: OverdueStatus | None = None
    ) -> Customer:
        return cls(
            id=gid(record.id),
            name=record.name,
            phone=record.phone,
            email=record.email,
            credit_limit=money(record.credit_limit, minor_units),
            payment_terms_days=record.payment_terms_days,
            balance=money(record.balance, minor_units),
            available_credit=money(record.available_credit, minor_units),
            over_limit=record.over_limit,
            created_at=record.created_at,
            archived_at=record.archived_at,
            record=record,
            overdue_now=overdue_now,
        )


@strawberry.type
class CustomerCreated:
    customer: Customer


@strawberry.type
class CustomerUpdated:
    customer: Customer


CreateCustomerResult = Annotated[
    CustomerCreated | InvalidInput, strawberry.union("CreateCustomerResult")
]
UpdateCustomerResult = Annotated[
    CustomerUpdated | NotFound | InvalidInput, strawberry.union("UpdateCustomerResult")
]


@strawberry.type
class CustomerArchived:
    customer: Customer


@strawberry.type
class CustomerUnarchived:
    customer: Customer


ArchiveCustomerResult = Annotated[
    CustomerArchived | NotFound | InvalidInput, strawberry.union("ArchiveCustomerResult")
]
UnarchiveCustomerResult = Annotated[
    CustomerUnarchived | NotFound | InvalidInput, strawberry.union("UnarchiveCustomerResult")
]


@strawberry.input
class ArchiveCustomerInput:
    customer_id: strawberry.ID


@strawberry.input
class CreateCustomerInput:
    name: str
    phone: str | None = None
    email: str | None = None
    credit_limit: Money | None = strawberry.field(
        default=None, description="Defaults to zero; setting it needs the owner role."
    )
    payment_terms_days: int | None = strawberry.field(
        default=None, description="Defaults to the business's payment terms."
    )


@strawberry.input
class UpdateCustomerInput:
    customer_id: strawberry.ID
    name: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    credit_limit: Money | None = strawberry.field(
        default=strawberry.UNSET, description="Changing it needs the owner role."
    )
    payment_terms_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="null returns the customer to the business's terms."
    )


def _forbid_unless_owner(info: Info) -> None:
    # The role check alone: the mutation's own entry records this refusal.
    if not IsOwner().allows(info.context.caller):
        raise strawberry.exceptions.StrawberryGraphQLError(
            "Only an owner may set a credit limit.", extensions={"code": "FORBIDDEN"}
        )


def _read_contact(
    problems: Problems, phone: str | None, email: str | None
) -> tuple[str | None, str | None]:
    phone = read_text(phone, "phone", problems, max_length=40, required=False)
    email = read_text(email, "email", problems, max_length=254, required=False)
    if email is not None and ("@" not in email or email.startswith("@") or email.endswith("@")):
        problems.add("email", "is not an email address")
    return phone, email


@strawberry.type
class CustomerQueries:
    @strawberry.field(permission_classes=READ)
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        record = await loaders.load_by_client_id(loaders.customer_by_id(info), id)
        return None if record is None else Customer.of(record, info.context.minor_units)

    @strawberry.field(
        permission_classes=READ,
        description=(
            "Customers ordered by name, then id.  `search` matches a case-insensitive part "
            "of the name or phone; `owing: true` keeps customers with a positive balance, "
            "`owing: false` those without; archived customers only with `includeArchived`."
        ),
    )
    async def customers(  # noqa: PLR0917 - GraphQL arguments, passed by name
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        search: str | None = None,
        owing: bool | None = None,
        include_archived: bool = False,
    ) -> Connection[Customer]:
        limit = page_size(first)
        key = decode_name_id(after, CURSOR_KIND)
        search = read_search(search)
        overdue = asks_for_now(info, "edges", "node", "overdue")
        listed = await listing.customers_page(
            info.context.uow,
            limit=limit + 1,
            after=key,
            search=search,
            owing=owing,
            overdue=overdue,
            include_archived=include_archived,
        )
        minor_units = info.context.minor_units
        return connection(
            listed,
            limit,
            cursor=lambda row: encode_cursor(CURSOR_KIND, row.record.name, row.record.id),
            node=lambda row: Customer.of(
                row.record,
                minor_units,
                None if row.overdue_now is None else OverdueStatus.of(row.overdue_now, minor_units),
            ),
        )


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(permission_classes=WRITE)
    @audited("Customer")
    async def create_customer(self, info: Info, input: CreateCustomerInput) -> CreateCustomerResult:
        if input.credit_limit is not None:
            _forbid_unless_owner(info)
        problems = Problems()
        minor_units = info.context.minor_units
        name = read_text(input.name, "name", problems, max_length=200, required=True)
        phone, email = _read_contact(problems, input.phone, input.email)
        limit = 0
        if input.credit_limit is not None:
            limit = read_money(
                input.credit_limit, "creditLimit", problems, minor_units, positive=False
            )
        terms = read_terms(input.payment_terms_days, "paymentTermsDays", problems)
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        assert name is not None
        new = service.NewCustomer(
            name=name, phone=phone, email=email, credit_limit=limit, payment_terms_days=terms
        )
        async with info.context.uow() as uow:
            record = await service.create_customer(uow, customer=new)
        return CustomerCreated(customer=Customer.of(record, minor_units))

    @strawberry.mutation(permission_classes=WRITE)
    @audited("Customer", by="customerId")
    async def update_customer(self, info: Info, input: UpdateCustomerInput) -> UpdateCustomerResult:
        if input.credit_limit is not strawberry.UNSET:
            _forbid_unless_owner(info)
        problems = Problems()
        minor_units = info.context.minor_units
        customer_id = read_id(input.customer_id, "customerId", problems)
        changes: dict[str, Any] = {}
        if input.name is not strawberry.UNSET:
            changes["name"] = read_text(input.name, "name", problems, max_length=200, required=True)
        if input.phone is not strawberry.UNSET or input.email is not strawberry.UNSET:
            phone, email = _read_contact(
                problems,
                None if input.phone is strawberry.UNSET else input.phone,
                None if input.email is strawberry.UNSET else input.email,
            )
            if input.phone is not strawberry.UNSET:
                changes["phone"] = phone
            if input.email is not strawberry.UNSET:
                changes["email"] = email
        if input.credit_limit is not strawberry.UNSET:
            if input.credit_limit is None:
                problems.add("creditLimit", "must not be null")
            else:
                changes["credit_limit"] = read_money(
                    input.credit_limit, "creditLimit", problems, minor_units, positive=False
                )
        if input.payment_terms_days is not strawberry.UNSET:
            changes["payment_terms_days"] = read_terms(
                input.payment_terms_days, "paymentTermsDays", problems
            )
        if invalid := problems.result():
            return InvalidInput.of(invalid)
        async with info.context.uow() as uow:
            result = await service.update_customer(uow, customer_id=customer_id, changes=changes)
        if isinstance(result, Missing):
            return NotFound.of(result)
        if isinstance(result, CustomerRecord):
            return CustomerUpdated(customer=Customer.of(result, minor_units))
        return InvalidInput.of(result)

    @strawberry.mutation(permission_classes=WRITE)
    @audited("Customer", by="customerId")
    async def archive_customer(
        self, info: Info, input: ArchiveCustomerInput
    ) -> ArchiveCustomerResult:
        result = await _set_archived(info, input, archived=True)
        if isinstance(result, Customer):
            return CustomerArchived(customer=result)
        return result

    @strawberry.mutation(permission_classes=WRITE)
    @audited("Customer", by="customerId")
    async def unarchive_customer(
        self, info: Info, input: ArchiveCustomerInput
    ) -> UnarchiveCustomerResult:
        result = await _set_archived(info, input, archived=False)
        if isinstance(result, Customer):
            return CustomerUnarchived(customer=result)
        return result


async def _set_archived(
    info: Info, input: ArchiveCustomerInput, *, archived: bool
) -> Customer | NotFound | InvalidInput:
    problems = Problems()
    customer_id = read_id(input.customer_id, "customerId", problems)
    if invalid := problems.result():
        return InvalidInput.of(invalid)
    async with info.context.uow() as uow:
        result = await archive.set_customer_archived(
            uow, customer_id=customer_id, archived=archived
        )
    if isinstance(result, Missing):
        return NotFound.of(result)
    return Customer.of(result, info.context.minor_units)
