"""Talking to the running service outside the load: introspection and one probe request.

A workload runs only when its root field exists in the live schema.  Input type
names are not part of the issues' contract (argument names are), so a
workload's variable types are taken from the schema: ``$input: PurchaseInput!``
becomes whatever type the ``input`` argument of ``purchase`` really has.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from typing import Any

import orjson

INTROSPECTION = """
query RootFields {
  __schema {
    queryType { fields { name args { name type { ...Ref } } } }
    mutationType { fields { name args { name type { ...Ref } } } }
  }
}
fragment Ref on __Type { kind name ofType { kind name ofType { kind name } } }
"""

VARIABLE = re.compile(r"\$(\w+)\s*:\s*([A-Za-z_]\w*)")


def post_body(host: str, port: int, token: str | None, body: bytes) -> bytes:
    """POST a request body as-is; the answer's body, whatever its status."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://{host}:{port}/graphql", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return bytes(answer.read())
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}: ".encode() + error.read()


def post(
    host: str, port: int, token: str | None, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = orjson.dumps({"query": query, "variables": variables or {}})
    return orjson.loads(post_body(host, port, token, body))  # type: ignore[no-any-return]


def _named(ref: dict[str, Any]) -> str:
    while ref.get("name") is None and ref.get("ofType"):
        ref = ref["ofType"]
    return str(ref.get("name"))


RootFields = dict[str, dict[str, dict[str, str]]]
"""operation kind -> root field -> argument -> named type."""


def root_fields(host: str, port: int) -> RootFields:
    """The live schema's root fields; the bench's service lets anyone introspect."""
    answer = post(host, port, None, INTROSPECTION)
    if "errors" in answer:
        raise RuntimeError(f"introspection failed: {answer['errors']}")
    schema = answer["data"]["__schema"]
    found: RootFields = {}
    for kind, key in (("query", "queryType"), ("mutation", "mutationType")):
        fields = (schema.get(key) or {}).get("fields") or []
        found[kind] = {f["name"]: {a["name"]: _named(a["type"]) for a in f["args"]} for f in fields}
    return found


def with_schema_types(query: str, arguments: dict[str, str]) -> str:
    """Give each ``$variable`` named like an argument that argument's type."""

    def retype(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"${name}: {arguments.get(name, match.group(2))}"

    return VARIABLE.sub(retype, query)
