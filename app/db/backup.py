"""``credit-ledger backup`` and ``restore``: ``pg_dump`` and ``pg_restore`` of the server's
own major version.

A ``pg_dump`` older than the server refuses to dump it, and a dump written by a newer
one may not restore into it, so the tools must match the server: the embedded
server's are pgserver's own binaries; a system server's are Debian's
``/usr/lib/postgresql/<major>/bin``, or whatever ``PATH`` holds, if its version
matches.  When none does, the error names the version needed and where it looked.

A backup is ``pg_dump``'s custom format of the whole database: schema, functions,
row-level security, grants to ``credit_ledger_app`` and every row.  It must be taken
by a role that row-level security does not apply to (a superuser, or ``BYPASSRLS``):
``pg_dump`` refuses otherwise rather than write a partial backup.

A restore goes into an empty database only, in one transaction (all or nothing),
owned by whoever restores (``--no-owner``, as migrations run as the owner); the
service role is created first if the server lacks it, and after the restore the
schema is upgraded to this code's head and the role's password set, as ``migrate``
does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from app.db.app_role import ensure_role

SYSTEM_BINARIES = Path("/usr/lib/postgresql")
TOOL_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


class BackupError(Exception):
    """The backup or restore cannot run; the message says why and what to do."""


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """``url`` as libpq takes it, and the environment carrying its password (so that
    the password never shows in the tools' command lines)."""
    parsed = make_url(url).set(drivername="postgresql")
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    return parsed.set(password=None).render_as_string(hide_password=False), env


def server_major(url: str) -> int:
    with psycopg.connect(libpq(url)[0], password=make_url(url).password) as connection:
        version = connection.execute("SHOW server_version_num").fetchone()
    assert version is not None
    return int(version[0]) // 10_000


def _embedded_binaries() -> Path | None:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        try:
            from pgserver import _commands  # noqa: PLC0415 - optional extra
        except ModuleNotFoundError:
            return None
    return Path(_commands.POSTGRES_BIN_PATH)


def candidates(tool: str, major: int) -> list[Path]:
    """Where ``tool`` may be, most likely to match first."""
    found = [SYSTEM_BINARIES / str(major) / "bin" / tool]
    if (embedded := _embedded_binaries()) is not None:
        found.insert(0, embedded / tool)
    if (on_path := shutil.which(tool)) is not None:
        found.append(Path(on_path))
    return found


def tool_major(path: Path) -> int | None:
    """The major version ``path --version`` reports, or ``None`` if it does not run."""
    try:
        answer = subprocess.run(  # noqa: S603 - a PostgreSQL tool found by name
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    match = TOOL_VERSION.search(answer.stdout)
    return int(match.group(1)) if match else None


def matching_tool(tool: str, major: int) -> Path:
    """``tool`` (``pg_dump``, ``pg_restore``) of PostgreSQL ``major``, or ``BackupError``."""
    looked = candidates(tool, major)
    for path in looked:
        if path.is_file() and tool_major(path) == major:
            return path
    raise BackupError(
        f"no {tool} of PostgreSQL {major} (the server's version) found; looked at"
        f" {', '.join(map(str, looked))}. Install the matching client"
        f" (Debian: apt-get install postgresql-client-{major})"
    )


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(  # noqa: S603 - a matching PostgreSQL tool, our own arguments
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def backup(url: str, file: Path) -> Path:
    """Dump ``url``'s database to ``file``; the ``pg_dump`` used."""
    pg_dump = matching_tool("pg_dump", server_major(url))
    target, env = libpq(url)
    _run([str(pg_dump), "--format=custom", f"--file={file}", f"--dbname={target}"], env)
    return pg_dump


def _is_empty(url: str) -> bool:
    target, _ = libpq(url)
    with psycopg.connect(target, password=make_url(url).password) as connection:
        found = connection.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ).fetchone()
    return found is not None and found[0] == 0


def restore(url: str, file: Path) -> Path:
    """Restore ``file`` into ``url``'s database, which must be empty; the ``pg_restore``
    used.  The caller then migrates (``app.server.migrate``)."""
    if not file.is_file():
        raise BackupError(f"{file} is not a file")
    pg_restore = matching_tool("pg_restore", server_major(url))
    if not _is_empty(url):
        database = make_url(url).database
        raise BackupError(
            f"database {database} is not empty; restore into a new database"
            " (createdb) and point DATABASE_URL at it"
        )
    ensure_role(url)
    target, env = libpq(url)
    _run(
        [str(pg_restore), "--exit-on-error", "--single-transaction", "--no-owner",
         f"--dbname={target}", str(file)],
        env,
    )  # fmt: skip
    return pg_restore
