"""PDF through fpdf2 (pure Python): a title, the charts, the table, the footer lines.

Text is set in DejaVu Sans, the font matplotlib ships, so names in any script that
font covers (and the rupee sign) print as they are; no system font is needed.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import matplotlib
from fpdf import FPDF

from app.reports.charts import chart_png
from app.reports.tables import Cell, Kind, Report

FONT = "DejaVu"


def _text(kind: Kind, cell: Cell) -> str:
    if cell is None:
        return ""
    if kind is Kind.INSTANT and isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def pdf_bytes(title: str, subtitle: str, report: Report, rows: list[list[Cell]]) -> bytes:
    pdf = FPDF(orientation="L" if len(report.columns) > 6 else "P", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf.add_font(FONT, "", fonts / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", fonts / "DejaVuSans-Bold.ttf")
    pdf.add_page()
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 8, (title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    pdf.cell(0, 6, (subtitle), new_x="LMARGIN", new_y="NEXT")
    for chart in report.charts:
        pdf.image(io.BytesIO(chart_png(chart)), w=pdf.epw)
    pdf.set_font(FONT, size=8)
    numeric = {Kind.MONEY, Kind.INT, Kind.PERCENT}
    align = tuple("RIGHT" if c.kind in numeric else "LEFT" for c in report.columns)
    with pdf.table(text_align=align, first_row_as_headings=True) as table:
        table.row([(column.title) for column in report.columns])
        for row in rows:
            table.row([(_text(c.kind, cell)) for c, cell in zip(report.columns, row, strict=True)])
    pdf.ln(3)
    for label, value in report.footer:
        pdf.cell(0, 5, (f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
