"""XLSX through XlsxWriter, with typed cells: money as numbers shown with the
currency's decimals, dates as dates, counts as integers."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter

from app.reports.tables import Cell, Kind, Report


def xlsx_bytes(title: str, subtitle: str, report: Report, rows: list[list[Cell]]) -> bytes:
    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True, "remove_timezone": True})
    decimals = "0." + "0" * report.minor_units if report.minor_units else "0"
    formats = {
        Kind.MONEY: book.add_format({"num_format": f"#,##{decimals}"}),
        Kind.PERCENT: book.add_format({"num_format": "0.00"}),
        Kind.DATE: book.add_format({"num_format": "yyyy-mm-dd"}),
        Kind.INSTANT: book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    }
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(report.name[:31])
    sheet.write_string(0, 0, title, bold)
    sheet.write_string(1, 0, subtitle)
    header = 3
    for col, column in enumerate(report.columns):
        sheet.write_string(header, col, column.title, bold)
        sheet.set_column(col, col, max(12, len(column.title) + 2))
    for r, row in enumerate(rows, start=header + 1):
        for col, (column, cell) in enumerate(zip(report.columns, row, strict=True)):
            _write(sheet, (r, col), column.kind, cell, formats)
    line = header + len(rows) + 2
    for label, value in report.footer:
        sheet.write_string(line, 0, label, bold)
        sheet.write_string(line, 1, value)
        line += 1
    book.close()
    return output.getvalue()


def _write(
    sheet: Any, at: tuple[int, int], kind: Kind, cell: Cell, formats: dict[Kind, Any]
) -> None:
    r, col = at
    if cell is None:
        sheet.write_blank(r, col, None)
    elif kind is Kind.INSTANT and isinstance(cell, datetime):
        sheet.write_datetime(r, col, cell.replace(tzinfo=None), formats[kind])
    elif kind is Kind.DATE and isinstance(cell, date):
        sheet.write_datetime(r, col, datetime.combine(cell, datetime.min.time()), formats[kind])
    elif isinstance(cell, Decimal):
        sheet.write_number(r, col, float(cell), formats.get(kind))
    elif isinstance(cell, int):
        sheet.write_number(r, col, cell)
    else:
        sheet.write_string(r, col, str(cell))
