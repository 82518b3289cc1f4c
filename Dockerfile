# The service image.  The project is installed in editable mode on purpose: the
# code finds alembic.ini and the migrations next to the `app` package (/srv).
# Without the `embedded` extra: the image always runs against DATABASE_URL, so the
# embedded PostgreSQL (pgserver, ~30 MB of server binaries) stays out of it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv
COPY pyproject.toml README.md alembic.ini schema.graphql ./
COPY alembic ./alembic
COPY app ./app
RUN pip install -e . \
    && useradd --system --no-create-home credit-ledger

USER credit-ledger
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["credit-ledger", "serve"]
