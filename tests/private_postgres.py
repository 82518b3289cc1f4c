"""A PostgreSQL cluster of a test's own, which it may stop and start: never the shared one.

It runs pgserver's PostgreSQL binaries (a dependency of the project, so always
installed) on a fresh data folder under the system's temporary folder, listening
on a free TCP port of 127.0.0.1 only, with trust authentication and ``fsync`` off.
As root, they run as pgserver's system user, as the embedded server does
(``app.db.embedded``): PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.db.embedded import SYSTEM_USER


def _pgserver() -> Any:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivatePostgres:
    folder: Path
    port: int
    user: str | None

    @property
    def url(self) -> str:
        """The superuser's URL for the ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        _pgserver().pg_ctl(["-w", *args], pgdata=self.folder / "data", user=self.user, timeout=60)

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = f"-p {self.port} -h 127.0.0.1 -k '' -c fsync=off -c max_connections=40"
        self._pg_ctl("-l", str(self.folder / "log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: terminate sessions and shut down cleanly; ``immediate``: as in a crash."""
        self._pg_ctl("-m", mode, "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def create() -> PrivatePostgres:
    """A new cluster, started."""
    pgserver = _pgserver()
    user = SYSTEM_USER if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="credit-ledger-pg-"))
    if user is not None:
        entry = pgserver.utils.ensure_user_exists(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PrivatePostgres(folder, _free_port(), user)
    pgserver.initdb(
        ["--auth=trust", "--encoding=utf8", "-U", "postgres", "--no-sync"],
        pgdata=folder / "data", user=user, timeout=60,
    )  # fmt: skip
    server.start()
    return server
