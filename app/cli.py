"""``credit-ledger``: serve, migrate, export the schema, manage businesses, keys and
users, verify the ledger, prune idempotency keys, manage the audit trail's partitions."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

import orjson

from app.config import Settings
from app.db.embedded import embedded_url
from app.db.engine import owner_engine
from app.domain.identity import Role
from app.services import admin, audit_partitions, auth_pruning, idempotency, verify


def _print(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    print(orjson.dumps(payload).decode() if args.json else text)


def _owner_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return embedded_url(settings.data_dir)


def _run_admin(settings: Settings, work: Callable[[Any], Awaitable[None]]) -> None:
    async def main() -> None:
        engine = owner_engine(_owner_url(settings))
        try:
            await work(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(main())
    except admin.AdminError as exc:
        sys.exit(f"error: {exc}")


def cmd_export_schema(_: argparse.Namespace, __: Settings) -> None:
    from app.graphql.schema import export_sdl

    sys.stdout.write(export_sdl())


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    from app.server import migrate

    migrate(settings, _owner_url(settings))
    _print(args, {"migrated": True}, "migrated to head")


def cmd_business_create(args: argparse.Namespace, settings: Settings) -> None:
    async def work(engine: Any) -> None:
        business_id = await admin.create_business(
            engine, name=args.name, currency=args.currency, terms_days=args.terms_days
        )
        _print(args, {"id": str(business_id)}, f"business {business_id} created")

    _run_admin(settings, work)


def cmd_key_create(args: argparse.Namespace, settings: Settings) -> None:
    async def work(engine: Any) -> None:
        key = await admin.create_key(engine, business_id=args.business, role=_role(args.role))
        _print(
            args,
            {"id": key.ref.public_id, "businessId": str(key.ref.business_id),
             "role": key.role.value, "key": key.token},
            f"key {key.ref.public_id} ({key.role.value}); shown once:\n{key.token}",
        )  # fmt: skip

    _run_admin(settings, work)


def cmd_key_revoke(args: argparse.Namespace, settings: Settings) -> None:
    async def work(engine: Any) -> None:
        ref = await admin.revoke_key(engine, args.key_id)
        _print(args, {"id": ref.public_id, "revoked": True}, f"key {ref.public_id} revoked")

    _run_admin(settings, work)


def _role(raw: str) -> Role:
    """A role by name; ``clerk``, the cashier's name before staff accounts, still works."""
    return Role.CASHIER if raw == "clerk" else Role(raw)


ROLE_NAMES = [role.value for role in Role]


def _print_password(args: argparse.Namespace, new: admin.NewPassword, what: str) -> None:
    user = new.user
    _print(
        args,
        {"id": str(user.id), "businessId": str(new.business_id), "email": user.email,
         "role": user.role.value, "oneTimePassword": new.one_time_password},
        f"user {user.id} {user.email} ({user.role.value}) {what}; one-time password,"
        f" shown once:\n{new.one_time_password}",
    )  # fmt: skip


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> None:
    async def work(engine: Any) -> None:
        new = await admin.create_user(
            engine, business_id=args.business, email=args.email, role=_role(args.role),
            full_name=args.name,
        )  # fmt: skip
        _print_password(args, new, "created")

    _run_admin(settings, work)


def cmd_user_reset_password(args: argparse.Namespace, settings: Settings) -> None:
    async def work(engine: Any) -> None:
        _print_password(args, await admin.reset_password(engine, email=args.email), "reset")

    _run_admin(settings, work)


def cmd_sessions_prune(args: argparse.Namespace, settings: Settings) -> None:
    if args.older_than_days < auth_pruning.MIN_RETENTION_DAYS:
        sys.exit(f"error: ended sessions are kept at least {auth_pruning.MIN_RETENTION_DAYS} day")

    async def work(engine: Any) -> None:
        pruned = await auth_pruning.prune_sign_in_leftovers(
            engine, older_than_days=args.older_than_days
        )
        _print(
            args,
            {
                "sessions": pruned.sessions,
                "refreshTokens": pruned.refresh_tokens,
                "throttleRows": pruned.throttle_rows,
                "olderThanDays": args.older_than_days,
            },
            f"deleted {pruned.sessions} sessions ended over {args.older_than_days} days ago"
            f" ({pruned.refresh_tokens} refresh tokens) and {pruned.throttle_rows} stale"
            " sign-in throttle rows",
        )

    _run_admin(settings, work)


def cmd_idempotency_prune(args: argparse.Namespace, settings: Settings) -> None:
    if args.older_than_hours < idempotency.MIN_RETENTION_HOURS:
        sys.exit(f"error: keys are kept at least {idempotency.MIN_RETENTION_HOURS} hours")

    async def work(engine: Any) -> None:
        deleted = await idempotency.prune_expired(engine, older_than_hours=args.older_than_hours)
        _print(
            args,
            {"deleted": deleted, "olderThanHours": args.older_than_hours},
            f"deleted {deleted} idempotency keys older than {args.older_than_hours} hours",
        )

    _run_admin(settings, work)


def _month(raw: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", raw)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a month (YYYY-MM)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def cmd_audit_detach(args: argparse.Namespace, settings: Settings) -> None:
    async def work(engine: Any) -> None:
        detached = await audit_partitions.detach_before(engine, month=args.before)
        before = args.before.strftime("%Y-%m")
        lines = [f"detached {name}" for name in detached]
        lines.append(
            f"detached {len(detached)} audit partitions wholly before {before}; each is now a"
            " standalone table to archive" if detached
            else f"no attached audit partition lies wholly before {before}"
        )  # fmt: skip
        _print(args, {"detached": detached, "before": before}, "\n".join(lines))

    _run_admin(settings, work)


def cmd_audit_partitions(args: argparse.Namespace, settings: Settings) -> None:
    async def work(engine: Any) -> None:
        created = await audit_partitions.add_partitions(engine, months=args.months)
        lines = [f"created {name}" for name in created]
        lines.append(f"created {len(created)} audit partitions up to {args.months} months ahead")
        _print(args, {"created": created, "months": args.months}, "\n".join(lines))

    _run_admin(settings, work)


def cmd_verify(args: argparse.Namespace, settings: Settings) -> None:
    report = verify.Report()

    async def work(engine: Any) -> None:
        nonlocal report
        report = await verify.verify_all(engine, args.business)

    _run_admin(settings, work)
    summary = f"checked {report.businesses} businesses: " + (
        "ledger, balances and stock agree" if report.ok else f"{len(report.problems)} problems"
    )
    _print(
        args,
        {
            "ok": report.ok,
            "businesses": report.businesses,
            "problems": [
                {"businessId": str(p.business_id), "check": p.check, "subject": p.subject,
                 "detail": p.detail}
                for p in report.problems
            ],
        },
        "\n".join([*map(str, report.problems), summary]),
    )  # fmt: skip
    if not report.ok:
        sys.exit(1)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    from app.server import StartupError, serve

    try:
        serve(settings, host=args.host, port=args.port, workers=args.workers)
    except StartupError as exc:
        print(f"credit-ledger: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        # Ctrl-C before uvicorn took over the signals (e.g. while migrating).
        sys.exit(130)


def _add_pruning_commands(commands: Any) -> None:
    """``idempotency prune`` and ``sessions prune``."""
    keys = commands.add_parser("idempotency", help="manage idempotency keys").add_subparsers(
        dest="action", required=True
    )
    prune = keys.add_parser("prune", help="delete idempotency keys older than a given age")
    prune.add_argument(
        "--older-than-hours",
        type=int,
        default=idempotency.MIN_RETENTION_HOURS,
        help=f"at least {idempotency.MIN_RETENTION_HOURS} (the default)",
    )
    prune.add_argument("--json", action="store_true")
    prune.set_defaults(handler=cmd_idempotency_prune)

    sessions = commands.add_parser("sessions", help="manage sign-in sessions").add_subparsers(
        dest="action", required=True
    )
    sessions_prune = sessions.add_parser(
        "prune", help="delete ended sessions, their refresh tokens and stale sign-in throttling"
    )
    sessions_prune.add_argument(
        "--older-than-days",
        type=int,
        default=30,
        help=f"sessions ended this long ago (at least {auth_pruning.MIN_RETENTION_DAYS})",
    )
    sessions_prune.add_argument("--json", action="store_true")
    sessions_prune.set_defaults(handler=cmd_sessions_prune)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="credit-ledger", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the GraphQL service")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=None)
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="upgrade the database to the latest schema")
    migrate.add_argument("--json", action="store_true")
    migrate.set_defaults(handler=cmd_migrate)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(handler=cmd_export_schema)

    business = commands.add_parser("business", help="manage businesses").add_subparsers(
        dest="action", required=True
    )
    create = business.add_parser("create", help="create a business")
    create.add_argument("--name", required=True)
    create.add_argument("--currency", default="INR")
    create.add_argument("--terms-days", type=int, default=30)
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=cmd_business_create)

    key = commands.add_parser("key", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    key_create = key.add_parser("create", help="create an API key (its secret is shown once)")
    key_create.add_argument("--business", type=int, required=True)
    key_create.add_argument("--role", choices=[*ROLE_NAMES, "clerk"], required=True)
    key_create.add_argument("--json", action="store_true")
    key_create.set_defaults(handler=cmd_key_create)
    key_revoke = key.add_parser("revoke", help="revoke an API key")
    key_revoke.add_argument("key_id", metavar="KEY_ID", help="e.g. cl_1_2")
    key_revoke.add_argument("--json", action="store_true")
    key_revoke.set_defaults(handler=cmd_key_revoke)

    user = commands.add_parser("user", help="manage a business's users").add_subparsers(
        dest="action", required=True
    )
    user_create = user.add_parser(
        "create", help="create a user (their one-time password is shown once)"
    )
    user_create.add_argument("--business", type=int, required=True)
    user_create.add_argument("--email", required=True)
    user_create.add_argument("--role", choices=[*ROLE_NAMES, "clerk"], required=True)
    user_create.add_argument("--name", help="full name (default: the email)")
    user_create.add_argument("--json", action="store_true")
    user_create.set_defaults(handler=cmd_user_create)
    user_reset = user.add_parser(
        "reset-password", help="give a user a new one-time password; their sessions end"
    )
    user_reset.add_argument("--email", required=True)
    user_reset.add_argument("--json", action="store_true")
    user_reset.set_defaults(handler=cmd_user_reset_password)

    _add_pruning_commands(commands)

    check = commands.add_parser(
        "verify", help="prove balances equal the ledger and stock equals its movements"
    )
    check.add_argument(
        "--business", type=int, action="append", help="only this business (repeatable)"
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=cmd_verify)
    return _add_audit_commands(parser, commands)


def _add_audit_commands(parser: argparse.ArgumentParser, commands: Any) -> argparse.ArgumentParser:
    audit = commands.add_parser("audit", help="manage the audit trail").add_subparsers(
        dest="action", required=True
    )
    detach = audit.add_parser(
        "detach", help="detach the monthly partitions wholly before a month, for archiving"
    )
    detach.add_argument("--before", type=_month, required=True, metavar="YYYY-MM")
    detach.add_argument("--json", action="store_true")
    detach.set_defaults(handler=cmd_audit_detach)
    partitions = audit.add_parser(
        "partitions", help="create the monthly partitions of the coming months"
    )
    partitions.add_argument("--months", type=int, default=12, help="how far ahead (default 12)")
    partitions.add_argument("--json", action="store_true")
    partitions.set_defaults(handler=cmd_audit_partitions)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.handler(args, Settings.from_env())
