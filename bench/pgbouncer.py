"""A PgBouncer in transaction mode in front of a PostgreSQL server, as an operator runs it.

Debian's ``pgbouncer`` (1.18: no prepared-statement support of its own) with a stock
configuration: nothing in ``ignore_startup_parameters``, ``pool_size`` server
connections per database and role, so that many clients' transactions take turns on
few sessions.  The test suite starts one with two server connections
(``tests/conftest.py``; ``make pgbouncer`` and CI install the package), ``make bench``
one with ``BENCH_POOLER=pgbouncer``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

CONFIG = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
"""


def available() -> bool:
    return Path(BINARY).is_file() and os.access(BINARY, os.X_OK)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PgBouncer:
    port: int
    process: subprocess.Popen[bytes]
    folder: Path

    def url(self, url: str) -> str:
        """``url`` (a server URL with its database and user) through this PgBouncer."""
        through = make_url(url).set(host="127.0.0.1", port=self.port, password=None)
        return through.render_as_string(hide_password=False)

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(server_url: str, users: list[str], *, pool_size: int) -> PgBouncer:
    """PgBouncer forwarding every database of ``server_url``'s server, for ``users``."""
    server = make_url(server_url)
    if not server.host:
        raise RuntimeError(f"PgBouncer needs a TCP server, not {server_url}")
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o777)  # it drops root for the postgres user, which writes its log here
    port = _free_port()
    (folder / "users.txt").write_text("".join(f'"{user}" ""\n' for user in users))
    config = folder / "pgbouncer.ini"
    config.write_text(
        CONFIG.format(
            host=server.host, port=server.port or 5432, listen_port=port,
            folder=folder, pool_size=pool_size,
        )
    )  # fmt: skip
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [BINARY, str(config)]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    bouncer = PgBouncer(port, process, folder)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"pgbouncer exited: {output}{bouncer.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return bouncer
        except OSError:
            time.sleep(0.05)
    bouncer.stop()
    raise RuntimeError("pgbouncer did not listen within 10 s")
