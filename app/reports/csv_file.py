"""CSV, streamed: each row is written out as it is read, so a long report never sits in
memory.  Money is a plain decimal with the currency's decimals, dates ISO 8601."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime

from app.reports.tables import Cell, Report


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return str(cell)


async def csv_chunks(report: Report) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.title for column in report.columns])
    async for row in report.rows:
        writer.writerow([_text(cell) for cell in row])
        if buffer.tell() > 16_384:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
