"""Settings come from the environment only, read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

APP_ROLE = "credit_ledger_app"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
INTROSPECTION = ("authenticated", "public", "off")
"""Who may introspect the schema (``INTROSPECTION``), the default first."""


def app_url_for(owner_url: str, password: str | None = None) -> str:
    """The service's URL: the owner's server and database, as the unprivileged role."""
    url = make_url(owner_url).set(username=APP_ROLE, password=password)
    return url.render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the asyncpg driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _choice(name: str, choices: tuple[str, ...]) -> str:
    """The environment's ``name``, one of ``choices``; the first when unset."""
    raw = (os.environ.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    """Owner connection: migrations and admin commands. ``None`` means embedded."""
    app_database_url: str | None = None
    """Service connection; derived from ``database_url`` when unset."""
    app_db_password: str | None = None
    listen_database_url: str | None = None
    """Where each worker listens for key changes; derived when unset (``listen_url``)."""
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    pool_size: int = 3
    """Connections per worker.  PostgreSQL is fastest with a few active connections
    per core; on 2 cores with 2 workers, 3 each served purchases and reads faster than
    4 or 6, and payments as fast (``make bench``, bench/README.md "2026-12-04 (late
    night)")."""
    pool_timeout_seconds: float = 10.0
    """Longest a request waits for a free connection; past it the client gets TRY_AGAIN
    (HTTP 503 when the connection was needed to check an API key not yet cached)."""
    db_pooler: str = "none"
    """``none``: the service connects to PostgreSQL directly; ``transaction``: through
    a transaction-pooling PgBouncer (``app.db.engine``, docs/operations.md "Behind a connection
    pooler")."""
    connect_timeout_seconds: float = 10.0
    """Longest ``serve`` waits for the database at start-up before giving up with one line."""
    statement_timeout_ms: int = 5_000
    lock_timeout_ms: int = 2_000
    request_deadline_seconds: float = 8.0
    """Longest a request may take, body included (``app.main.RequestContext``, and
    ``app.deadline`` for code that computes); below the 10 s that ``serve`` gives
    requests in flight to finish after SIGTERM."""
    header_timeout_seconds: float = 10.0
    """Longest a connection may take to send a request's headers (``app.http_protocol``)."""
    max_connections: int = 4096
    """Open connections per worker past which a new one is answered 503."""
    auth_cache_seconds: int = 5
    access_token_seconds: int = 900
    """Lifetime of an access token (a JWT): 15 minutes."""
    session_seconds: int = 30 * 86_400
    """How long a sign-in lasts, refreshed or not; then the user signs in again."""
    signing_key_rotation_seconds: int = 86_400
    """How long each token signing key signs before the next takes over
    (``app.services.access_tokens``)."""
    sign_in_attempts: int = 5
    sign_in_window_seconds: float = 60.0
    sign_in_lockout_seconds: float = 60.0
    """The first lockout, after ``sign_in_attempts`` failures within the window; each
    further one doubles, up to ``sign_in_max_lockout_seconds``."""
    sign_in_max_lockout_seconds: float = 3600.0
    rate_limit_requests: int = 300_000
    """Requests per API key or user per ``rate_limit_window_seconds``, across every
    worker and instance; 0 turns the limit off (``app.services.rate_limits``).  The
    default, 5,000 a second, only stops a runaway client: no till needs more than a
    few a second, and a benchmark's single key must not be slowed."""
    rate_limit_window_seconds: int = 60
    rate_limit_sync_seconds: float = 1.0
    """How often each worker adds its request counts up in PostgreSQL."""
    max_body_bytes: int = 256 * 1024
    log_level: str = "INFO"
    seed_demo: bool = False
    fast_execution: bool = field(
        default_factory=lambda: _choice("FAST_EXECUTION", ("1", "0")) == "1"
    )
    """The execution engine (``app.graphql.engine``); off (``FAST_EXECUTION=0``),
    every request runs on Strawberry's stock pipeline."""
    introspection: str = "authenticated"
    """Who may introspect the schema: ``public``, ``authenticated`` (a valid API key)
    or ``off`` (``app.graphql.introspection``).  Error messages suggest names ("Did
    you mean …?") only when it is ``public``: they spell the schema out as well."""
    graphiql: bool = False
    """Serve GraphiQL to a browser on GET /graphql, its files from ``.graphiql/``
    (``app.graphiql``).  Off unless asked for (``make run`` asks): a deployment then
    offers a scanner no IDE."""
    secret_key: str | None = field(default=None, repr=False)
    """Signs receipt links; unset, the key generated in the database is used
    (migration ``0010_service_secrets``), the same for every worker and instance."""
    receipt_link_days: int = 30
    """How long a receipt link (``Order.receiptUrl``) works."""
    cors_origins: tuple[str, ...] = ()
    """Origins whose pages may call the API from a browser (``app.cors``); none unless
    listed (``CORS_ORIGINS``, comma-separated; ``make run`` allows
    ``http://localhost:*``)."""
    metrics: bool = False
    """Serve Prometheus metrics on ``/metrics`` and count them (``METRICS=on``;
    ``app.metrics`` says what and who may read them)."""
    metrics_token: str | None = field(default=None, repr=False)
    """With ``METRICS=on``: the bearer token a scraper must send; unset, anyone who
    reaches the port may read ``/metrics``."""
    trust_forwarded_headers: bool = False
    """Believe the proxy's ``X-Forwarded-*`` headers: receipt links are built from
    ``X-Forwarded-Proto`` and ``X-Forwarded-Host``, and sign-in throttling counts the
    address the proxy appended to ``X-Forwarded-For`` (``app.client_address``).  Only
    behind a proxy that sets them, else a client could."""

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            app_database_url=env.get("APP_DATABASE_URL") or None,
            app_db_password=env.get("APP_DB_PASSWORD") or None,
            listen_database_url=env.get("LISTEN_DATABASE_URL") or None,
            data_dir=Path(env.get("CREDIT_LEDGER_DATA_DIR") or PROJECT_ROOT / ".data"),
            host=env.get("HOST", "127.0.0.1"),
            port=_int("PORT", 8000),
            workers=_int("WORKERS", 1),
            pool_size=_int("DB_POOL_SIZE", Settings.pool_size),
            pool_timeout_seconds=float(env.get("DB_POOL_TIMEOUT_SECONDS") or 10.0),
            db_pooler=_choice("DB_POOLER", ("none", "transaction")),
            connect_timeout_seconds=float(env.get("DB_CONNECT_TIMEOUT_SECONDS") or 10.0),
            statement_timeout_ms=_int("STATEMENT_TIMEOUT_MS", 5_000),
            lock_timeout_ms=_int("LOCK_TIMEOUT_MS", 2_000),
            request_deadline_seconds=float(env.get("REQUEST_DEADLINE_SECONDS") or 8.0),
            header_timeout_seconds=float(env.get("HEADER_TIMEOUT_SECONDS") or 10.0),
            max_connections=_int("MAX_CONNECTIONS", 4096),
            auth_cache_seconds=_int("AUTH_CACHE_SECONDS", 5),
            access_token_seconds=_int("ACCESS_TOKEN_SECONDS", 900),
            session_seconds=_int("SESSION_SECONDS", 30 * 86_400),
            signing_key_rotation_seconds=_int("SIGNING_KEY_ROTATION_SECONDS", 86_400),
            sign_in_attempts=_int("SIGN_IN_ATTEMPTS", 5),
            sign_in_window_seconds=float(env.get("SIGN_IN_WINDOW_SECONDS") or 60.0),
            sign_in_lockout_seconds=float(env.get("SIGN_IN_LOCKOUT_SECONDS") or 60.0),
            sign_in_max_lockout_seconds=float(env.get("SIGN_IN_MAX_LOCKOUT_SECONDS") or 3600.0),
            rate_limit_requests=_int("RATE_LIMIT_REQUESTS", 300_000),
            rate_limit_window_seconds=_int("RATE_LIMIT_WINDOW_SECONDS", 60),
            rate_limit_sync_seconds=float(env.get("RATE_LIMIT_SYNC_SECONDS") or 1.0),
            max_body_bytes=_int("MAX_BODY_BYTES", 256 * 1024),
            log_level=env.get("LOG_LEVEL", "INFO"),
            seed_demo=env.get("SEED_DEMO", "").lower() in ("1", "true", "yes"),
            introspection=_choice("INTROSPECTION", INTROSPECTION),
            graphiql=_choice("GRAPHIQL", ("off", "on")) == "on",
            secret_key=env.get("SECRET_KEY") or None,
            receipt_link_days=_int("RECEIPT_LINK_DAYS", 30),
            cors_origins=tuple(
                o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()
            ),
            metrics=_choice("METRICS", ("off", "on")) == "on",
            metrics_token=env.get("METRICS_TOKEN") or None,
            trust_forwarded_headers=_choice("TRUST_FORWARDED_HEADERS", ("off", "on")) == "on",
        )

    @property
    def behind_pooler(self) -> bool:
        return self.db_pooler == "transaction"

    def service_url(self) -> str:
        if self.app_database_url:
            return async_url(self.app_database_url)
        if not self.database_url:
            raise RuntimeError("DATABASE_URL is not set and no embedded server was started")
        return async_url(app_url_for(self.database_url, self.app_db_password))

    def listen_url(self) -> str:
        """Where each worker ``LISTEN``s for key changes (``app.services.key_changes``).

        ``LISTEN`` needs a session of its own, which a transaction pooler cannot give
        (notifications would be lost), so behind one it is PostgreSQL itself: the
        owner's server and database, as the service role, unless set explicitly."""
        if self.listen_database_url:
            return async_url(self.listen_database_url)
        if not self.behind_pooler:
            return self.service_url()
        if not self.database_url:
            raise RuntimeError(
                "behind a pooler, LISTEN_DATABASE_URL or DATABASE_URL must reach PostgreSQL itself"
            )
        return async_url(app_url_for(self.database_url, self.app_db_password))
