"""``make bench``: the service under load over HTTP, measured against pgbench."""
