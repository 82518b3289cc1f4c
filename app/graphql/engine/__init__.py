"""The execution engine: what makes execution faster than Strawberry's stock pipeline.

It plugs into Strawberry at one point, a schema extension (``FastExecution``,
``app.graphql.engine.extension``), and ``FAST_EXECUTION=0`` leaves it out, so
that every request runs exactly as on stock Strawberry.  What it does, and what
each part was measured to give, is in bench/README.md ("Fast execution"):

- plans (``plans``): a query's or mutation's document compiled once into
  functions that read, resolve and serialize each field as graphql-core would; a
  plan answers only when nothing went wrong, else Strawberry executes the
  operation as usual (a mutation without running a root resolver twice);
- plain resolvers (``resolvers``): the resolver a plan calls for a field is
  Strawberry's with its per-call work (argument conversion, permission checks)
  done once per field.

Names it needs from inside Strawberry and graphql-core are all in ``internals``.
"""

from __future__ import annotations

from collections.abc import Callable

from strawberry.extensions import SchemaExtension

from app.graphql.engine.extension import FastExecution, Plans


def engine_extensions(*, enabled: bool) -> list[Callable[[], SchemaExtension]]:
    """The schema extensions of the engine: none when it is off."""
    if not enabled:
        return []
    plans = Plans()  # one schema's plans, shared by its requests
    return [lambda: FastExecution(plans=plans)]
