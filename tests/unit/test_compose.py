"""docker-compose.yml is fit for real use: no Docker engine runs here, so its properties
are read from the file (PyYAML) and checked against the Dockerfile and pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
import yaml

from app.cli import build_parser
from app.config import PROJECT_ROOT

VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def interpolated(value: str, **env: str) -> str:
    """``value`` as Compose reads it, with ``env`` set and every other variable unset."""
    return VARIABLE.sub(lambda match: env.get(match.group(1)) or match.group(2) or "", value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_the_database_and_the_service_restart_unless_stopped(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["restart"] == "unless-stopped"
    assert services["app"]["restart"] == "unless-stopped"


def test_the_port_is_published_on_loopback_unless_bind_says_otherwise(
    compose: dict[str, Any],
) -> None:
    (port,) = compose["services"]["app"]["ports"]
    assert interpolated(port) == "127.0.0.1:8000:8000"
    everywhere = "0.0.0.0"  # noqa: S104 - what BIND is set to, not an address bound here
    assert interpolated(port, BIND=everywhere, PORT="9000") == f"{everywhere}:9000:8000"
    assert "ports" not in compose["services"]["postgres"], "PostgreSQL is not published at all"


def test_migrations_run_once_in_a_one_shot_service_before_the_app_starts(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    migrate, app = services["migrate"], services["app"]
    assert migrate["command"] == ["credit-ledger", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "migrate" not in " ".join(app["command"][:2]), "the app does not migrate again"
    serve = build_parser().parse_args(app["command"][1:])
    assert serve.command == "serve"
    assert serve.no_migrate is True
    assert migrate["image"] == app["image"], "one image, built once"


def test_both_run_as_the_owner_with_the_service_roles_password(compose: dict[str, Any]) -> None:
    for name in ("migrate", "app"):
        environment = compose["services"][name]["environment"]
        assert interpolated(environment["DATABASE_URL"]).startswith(
            "postgresql://postgres:postgres-local-only@postgres:5432/"
        )
        assert interpolated(environment["APP_DB_PASSWORD"]) == "app-local-only"


def test_the_image_leaves_out_the_embedded_postgresql() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert not any(dep.startswith("pgserver") for dep in project["dependencies"])
    assert any(dep.startswith("pgserver") for dep in project["optional-dependencies"]["embedded"])

    (install,) = re.findall(r"pip install (.*)", (PROJECT_ROOT / "Dockerfile").read_text())
    assert install.split()[:2] == ["-e", "."], "the image installs no extra"
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "-e '.[dev,embedded]'" in makefile, "make install includes the embedded server"
