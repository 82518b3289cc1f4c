"""Load generators: wrk (preferred) and a lean asyncio fallback, both in their own process."""
