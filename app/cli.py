"""``credit-ledger``: serve, migrate, export the schema, manage businesses, keys and
users, verify the ledger, prune idempotency keys and sessions, manage the audit
trail's partitions, back up and restore."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeAlias

import orjson

from app.config import Settings
from app.db.embedded import EmbeddedUnavailableError, embedded_url
from app.db.engine import owner_engine
from app.domain.identity import Role
from app.services import admin, audit_partitions, auth_pruning, idempotency, verify


def _print(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    print(orjson.dumps(payload).decode() if args.json else text)


def _owner_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    try:
        return embedded_url(settings.data_dir)
    except EmbeddedUnavailableError as exc:
        sys.exit(f"error: {exc}")


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


def cmd_business_list(args: argparse.Namespace, settings: Settings) -> None:
    async def work(engine: Any) -> None:
        rows = await admin.list_businesses(engine)
        _print(
            args,
            {"businesses": [
                {"id": str(row.id), "name": row.name, "currency": row.currency,
                 "paymentTermsDays": row.payment_terms_days,
                 "createdAt": row.created_at.isoformat()}
                for row in rows
            ]},
            "\n".join(
                f"{row.id}\t{row.name}\t{row.currency}\t{row.payment_terms_days} days"
                f"\tcreated {row.created_at:%Y-%m-%d}"
                for row in rows
            ) or "no business",
        )  # fmt: skip

    _run_admin(settings, work)


def cmd_key_list(args: argparse.Namespace, settings: Settings) -> None:
    async def work(engine: Any) -> None:
        rows = await admin.list_keys(engine, args.business)
        _print(
            args,
            {"keys": [
                {"id": row.ref.public_id, "businessId": str(row.ref.business_id),
                 "role": row.role.value, "name": row.name,
                 "createdAt": row.created_at.isoformat(),
                 "revokedAt": row.revoked_at and row.revoked_at.isoformat()}
                for row in rows
            ]},
            "\n".join(
                f"{row.ref.public_id}\t{row.role.value}\tcreated {row.created_at:%Y-%m-%d}"
                + (f"\trevoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "")
                + (f"\t{row.name}" if row.name else "")
                for row in rows
            ) or "no key",
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


def cmd_backup(args: argparse.Namespace, settings: Settings) -> None:
    from app.db.backup import BackupError, backup

    url = _owner_url(settings)
    try:
        tool = backup(url, args.file)
    except BackupError as exc:
        sys.exit(f"error: {exc}")
    _print(
        args,
        {"file": str(args.file), "pgDump": str(tool)},
        f"backed up to {args.file} (with {tool})",
    )


def cmd_restore(args: argparse.Namespace, settings: Settings) -> None:
    from app.db.backup import BackupError, restore
    from app.server import migrate

    url = _owner_url(settings)
    try:
        tool = restore(url, args.file)
    except BackupError as exc:
        sys.exit(f"error: {exc}")
    migrate(settings, url)
    _print(
        args,
        {"file": str(args.file), "pgRestore": str(tool), "migrated": True},
        f"restored {args.file} (with {tool}) and upgraded to the latest schema",
    )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    from app.server import StartupError, serve

    try:
        serve(
            settings, host=args.host, port=args.port, workers=args.workers,
            migrate_first=not args.no_migrate,
        )  # fmt: skip
    except StartupError as exc:
        print(f"credit-ledger: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        # Ctrl-C before uvicorn took over the signals (e.g. while migrating).
        sys.exit(130)


DATABASE_HELP = """

Every command works on DATABASE_URL (the owner's connection), else on the embedded
PostgreSQL of CREDIT_LEDGER_DATA_DIR (default: .data), which it starts if needed."""


def _version() -> str:
    try:
        return version("credit-ledger")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's, naming each option's default unless it has none (``None``, a flag)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _commands(parent: Commands, name: str, text: str) -> Commands:
    group = parent.add_parser(name, help=text, description=text, formatter_class=HelpFormatter)
    return group.add_subparsers(dest="action", required=True, metavar="ACTION")


def _command(
    group: Commands,
    name: str,
    text: str,
    handler: Callable[[argparse.Namespace, Settings], None],
) -> argparse.ArgumentParser:
    command = group.add_parser(name, help=text, description=text, formatter_class=HelpFormatter)
    command.set_defaults(handler=handler)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="credit-ledger",
        description=__doc__ + DATABASE_HELP,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(commands, "serve", "run the GraphQL service", cmd_serve)
    serve.add_argument("--host", help="address to listen on (default: $HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: $PORT, else 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default: $WORKERS, else 1)")
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not upgrade the database first: a separate `credit-ledger migrate` does"
        " (default: upgrade it)",
    )

    migrate = _command(
        commands, "migrate", "upgrade the database to the latest schema", cmd_migrate
    )
    _json_flag(migrate)

    _command(commands, "export-schema", "print the GraphQL SDL", cmd_export_schema)
    _tenant_commands(commands)
    _book_commands(commands)
    return parser


def _tenant_commands(commands: Commands) -> None:
    """Businesses, their keys and users."""
    business = _commands(commands, "business", "manage businesses")
    create = _command(business, "create", "create a business", cmd_business_create)
    create.add_argument("--name", required=True, help="the business's name")
    create.add_argument("--currency", default="INR", help="ISO 4217 currency code")
    create.add_argument(
        "--terms-days", type=int, default=30, help="days a customer has to pay a purchase"
    )
    _json_flag(create)
    listed = _command(business, "list", "list the businesses", cmd_business_list)
    _json_flag(listed)

    key = _commands(commands, "key", "manage API keys")
    key_create = _command(
        key, "create", "create an API key (its secret is shown once)", cmd_key_create
    )
    key_create.add_argument("--business", type=int, required=True, help="the business's id")
    key_create.add_argument(
        "--role", choices=[*ROLE_NAMES, "clerk"], required=True, help="what the key may do"
    )
    _json_flag(key_create)
    key_list = _command(
        key, "list", "list API keys: ids, roles, dates; never their secrets", cmd_key_list
    )
    key_list.add_argument(
        "--business", type=int, action="append",
        help="only this business's keys (repeatable; default: every business's)",
    )  # fmt: skip
    _json_flag(key_list)
    key_revoke = _command(key, "revoke", "revoke an API key", cmd_key_revoke)
    key_revoke.add_argument("key_id", metavar="KEY_ID", help="e.g. cl_1_2, or the whole key")
    _json_flag(key_revoke)

    user = _commands(commands, "user", "manage a business's users")
    user_create = _command(
        user, "create", "create a user (their one-time password is shown once)", cmd_user_create
    )
    user_create.add_argument("--business", type=int, required=True, help="the business's id")
    user_create.add_argument("--email", required=True, help="the user's email, to sign in with")
    user_create.add_argument(
        "--role", choices=[*ROLE_NAMES, "clerk"], required=True, help="what the user may do"
    )
    user_create.add_argument("--name", help="full name (default: the email)")
    _json_flag(user_create)
    user_reset = _command(
        user, "reset-password", "give a user a new one-time password; their sessions end",
        cmd_user_reset_password,
    )  # fmt: skip
    user_reset.add_argument("--email", required=True, help="the user's email")
    _json_flag(user_reset)


def _book_commands(commands: Commands) -> None:
    """Keeping the books: pruning, verifying, backing up, restoring."""
    keys = _commands(commands, "idempotency", "manage idempotency keys")
    prune = _command(
        keys, "prune", "delete idempotency keys older than a given age", cmd_idempotency_prune
    )
    prune.add_argument(
        "--older-than-hours",
        type=int,
        default=idempotency.MIN_RETENTION_HOURS,
        help=f"at least {idempotency.MIN_RETENTION_HOURS}",
    )
    _json_flag(prune)
    sessions = _commands(commands, "sessions", "manage sign-in sessions")
    sessions_prune = _command(
        sessions, "prune",
        "delete ended sessions, their refresh tokens and stale sign-in throttling",
        cmd_sessions_prune,
    )  # fmt: skip
    sessions_prune.add_argument(
        "--older-than-days",
        type=int,
        default=30,
        help=f"sessions ended this long ago (at least {auth_pruning.MIN_RETENTION_DAYS})",
    )
    _json_flag(sessions_prune)

    check = _command(
        commands, "verify", "prove balances equal the ledger and stock equals its movements",
        cmd_verify,
    )  # fmt: skip
    check.add_argument(
        "--business", type=int, action="append",
        help="only this business (repeatable; default: every business)",
    )  # fmt: skip
    _json_flag(check)

    dump = _command(
        commands, "backup",
        "write the whole database to FILE with the pg_dump of the server's version"
        " (run as a superuser or a role with BYPASSRLS)",
        cmd_backup,
    )  # fmt: skip
    dump.add_argument("file", metavar="FILE", type=Path, help="where to write the backup")
    _json_flag(dump)
    load = _command(
        commands, "restore",
        "restore a backup into the database, which must be empty, then upgrade it",
        cmd_restore,
    )  # fmt: skip
    load.add_argument("file", metavar="FILE", type=Path, help="a file written by backup")
    _json_flag(load)
    _audit_commands(commands)


def _audit_commands(commands: Commands) -> None:
    audit = _commands(commands, "audit", "manage the audit trail")
    detach = _command(
        audit, "detach", "detach the monthly partitions wholly before a month, for archiving",
        cmd_audit_detach,
    )  # fmt: skip
    detach.add_argument(
        "--before", type=_month, required=True, metavar="YYYY-MM",
        help="detach the months that end by the start of this one",
    )  # fmt: skip
    _json_flag(detach)
    partitions = _command(
        audit, "partitions", "create the monthly partitions of the coming months",
        cmd_audit_partitions,
    )  # fmt: skip
    partitions.add_argument("--months", type=int, default=12, help="how far ahead")
    _json_flag(partitions)


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.handler(args, Settings.from_env())
