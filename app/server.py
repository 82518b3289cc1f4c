"""``credit-ledger serve``: pick the database, migrate, seed a first run, then run uvicorn.

Without ``DATABASE_URL`` the embedded PostgreSQL is started (or reused) and its URL
is handed to the worker processes through ``DATABASE_URL`` in the environment,
since each worker builds its own settings.  A first run on the embedded server
(no business yet), or any run with ``SEED_DEMO=1``, creates a demo business and
prints a key and a query to paste; otherwise no data is ever created here.

With ``WORKERS`` > 1 the parent process accepts the connections and deals them
out to the workers in turn (``app.workers``, which says why).

Shutdown: on SIGTERM or Ctrl-C the service stops accepting connections, lets
requests in flight finish (up to ``GRACEFUL_SHUTDOWN_SECONDS``), then runs the
app's lifespan shutdown, which closes the database pool.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import orjson
import psycopg
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import metrics
from app.config import Settings
from app.db.app_role import set_password
from app.db.embedded import EmbeddedUnavailableError, embedded_url
from app.db.engine import owner_engine, service_driver_pool, service_engine
from app.db.migrations import upgrade
from app.http_protocol import BoundedHttpProtocol
from app.logs import configure_logging
from app.services.demo import Demo, create_demo
from app.workers import Server, Supervisor

GRACEFUL_SHUTDOWN_SECONDS = 10


class StartupError(Exception):
    """The service cannot start; the message is one line saying what, where and what to check."""


def check_database(url: str, timeout_seconds: float) -> None:
    """Connect and ask one question within ``timeout_seconds``, or ``StartupError``.

    Without it, a server that accepts connections but never answers left ``serve``
    waiting silently, and one that refused them ended in a long traceback.
    """
    where = make_url(url)
    place = f"{where.host or 'localhost'}:{where.port or 5432}/{where.database} as {where.username}"
    seconds = max(1, round(timeout_seconds))
    try:
        with psycopg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            connect_timeout=seconds,
            options=f"-c statement_timeout={seconds * 1000}",
        ) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise StartupError(
            f"cannot reach PostgreSQL at {place} within {seconds} s ({reason});"
            " check that it is running and that DATABASE_URL points at it"
        ) from None


def migrate(settings: Settings, owner_url: str) -> None:
    """Upgrade to head as the owner; then give the service role its password, if any."""
    upgrade(owner_url)
    if settings.app_db_password:
        set_password(owner_url, settings.app_db_password)


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    migrate_first: bool = True,
) -> None:
    """``migrate_first=False``: a separate ``credit-ledger migrate`` upgrades the database
    (Docker Compose's one-shot ``migrate`` service), so that several instances starting
    at once never migrate concurrently."""
    configure_logging(settings.log_level)
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    embedded = settings.database_url is None
    if settings.database_url is None:
        try:
            settings = replace(settings, database_url=embedded_url(settings.data_dir))
        except EmbeddedUnavailableError as exc:
            raise StartupError(str(exc)) from None
    assert settings.database_url is not None
    check_database(settings.database_url, settings.connect_timeout_seconds)
    if migrate_first:
        migrate(settings, settings.database_url)

    graphql_url = f"http://{_display_host(host)}:{port}/graphql"
    _say(asyncio.run(first_run(settings, embedded=embedded, graphql_url=graphql_url)))
    if embedded:
        _say(
            f"Embedded PostgreSQL: data in {settings.data_dir / 'postgres'}; it keeps running"
            " after the service stops (`make stop-db` stops it)."
        )

    os.environ["DATABASE_URL"] = settings.database_url
    _allow_many_connections()
    config = uvicorn.Config(
        "app.main:asgi",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=BoundedHttpProtocol,  # httptools, with a header timeout and a connection cap
        log_config=None,  # configure_logging already routes uvicorn's logs as JSON
        access_log=False,  # the app writes its own access line, with the request id
        server_header=False,
        # Uvicorn would take X-Forwarded-Proto from 127.0.0.1; the app decides whom to
        # believe (TRUST_FORWARDED_HEADERS, app.receipts.links.public_base_url).
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    # Several workers count into files of a folder made for them (app/metrics.py).
    with metrics.worker_files(workers if settings.metrics else 1):
        if workers > 1:
            # Deals the connections out evenly, replaces silent workers (app/workers.py).
            Supervisor(config, workers, settings.request_deadline_seconds).run()
        else:
            Server(config).run()


def _allow_many_connections() -> None:
    """Raise the open-files limit to its hard limit (the workers inherit it): each
    client connection is a file, and the soft limit is often 1,024."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def first_run(settings: Settings, *, embedded: bool, graphql_url: str) -> str:
    """Seed the demo if this run should; the text telling the user how to start."""
    assert settings.database_url is not None
    owner = owner_engine(settings.database_url)
    small = replace(settings, pool_size=2)
    service = service_engine(small)
    pool = service_driver_pool(small, service)
    try:
        # In embedded mode the owner is the superuser, whom RLS does not hide rows from.
        async with owner.connect() as connection:
            businesses = (
                await connection.execute(
                    text("SELECT id, name FROM businesses ORDER BY id LIMIT 10")
                )
            ).all()
        if settings.seed_demo or (embedded and not businesses):
            demo = await create_demo(owner=owner, service=service, pool=pool)
            return _demo_banner(demo, graphql_url, ide=settings.graphiql)
    finally:
        await pool.close()
        await owner.dispose()
        await service.dispose()
    listed = [(row.id, row.name) for row in businesses]
    return _existing_data_banner(
        graphql_url, listed, ide=settings.graphiql, embedded=embedded,
        cli=_cli_command(settings, embedded=embedded),
    )  # fmt: skip


def example_query(demo: Demo) -> str:
    return (
        "{ viewer { business { name currency } role }"
        f' customer(id: "{demo.customer_ids[0]}") {{ name creditLimit balance availableCredit }}'
        f' product(id: "{demo.product_ids[0]}") {{ name price stock }} }}'
    )


def _demo_banner(demo: Demo, graphql_url: str, *, ide: bool) -> str:
    """``ide``: GraphiQL is served (``GRAPHIQL=on``).  Every command printed runs as printed
    (tests/e2e/test_make_run.py and tests/e2e/test_readme_tour.py run them)."""
    query = example_query(demo)
    body = orjson.dumps({"query": query}).decode()
    header = orjson.dumps({"Authorization": f"Bearer {demo.owner_key}"}).decode()
    tour = {"API": graphql_url, "KEY": demo.owner_key, "EMAIL": demo.owner_email,
            "PASSWORD": demo.owner_password}  # fmt: skip
    return "\n".join(
        (
            "",
            f"Demo business {demo.business_id} created (INR): five months of a small shop's"
            " sales, payments and overdue customers.",
            f"{'GraphiQL:' if ide else 'GraphQL:':<15}{graphql_url}",
            f"Owner email:   {demo.owner_email}",
            f"Password:      {demo.owner_password}",
            f"Demo API key:  {demo.owner_key}",
            "               (owner role; the key and the password are shown only this once)",
            *([f"GraphiQL headers pane: {header}"] if ide else []),
            f"Example query: {query}",
            "With curl:",
            f"  curl -s {graphql_url} -H 'Authorization: Bearer {demo.owner_key}'"
            f" -H 'Content-Type: application/json' -d '{body}'",
            "For the README's tour, in another terminal:",
            "  export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in tour.items()),
            "",
        )
    )


def _cli_command(settings: Settings, *, embedded: bool) -> str:
    """How to call the CLI on this run's database, as a command that runs as printed
    from the project folder (``make run``'s)."""
    installed = Path(sys.executable).parent / "credit-ledger"
    command = shlex.quote(_relative(installed)) if installed.exists() else "credit-ledger"
    if embedded and settings.data_dir != Settings().data_dir:
        return f"CREDIT_LEDGER_DATA_DIR={shlex.quote(str(settings.data_dir))} {command}"
    return command


def _relative(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _existing_data_banner(
    graphql_url: str, businesses: list[tuple[int, str]], *, ide: bool, cli: str, embedded: bool
) -> str:
    listed = ", ".join(f"{id_} {name!r}" for id_, name in businesses)
    if businesses:
        make = [f"  {cli} key create --business {businesses[0][0]} --role owner"]
    else:
        make = [f"  {cli} business create --name 'My Shop'",
                f"  then: {cli} key create --business <its id> --role owner"]  # fmt: skip
    return "\n".join(
        (
            "",
            f"{'GraphiQL' if ide else 'GraphQL'}: {graphql_url}",
            "No demo data created (SEED_DEMO=1 asks for it). API keys are shown only when",
            "created; to make one, in another terminal, from this folder"
            + (":" if embedded else ", with the same DATABASE_URL:"),
            *make,
            f"Businesses: {listed}" if listed else "No business is visible to the owner role.",
            "",
        )
    )


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()
