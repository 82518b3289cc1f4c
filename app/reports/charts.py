"""Charts for the PDF reports, drawn by matplotlib with its Agg backend (no display, no
pyplot state: each chart is its own ``Figure``, safe to draw in a worker thread)."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from app.reports.tables import Chart


def chart_png(chart: Chart) -> bytes:
    figure = Figure(figsize=(7.5, 3.0), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    values = [float(value) for value in chart.values]
    positions = list(range(len(values)))
    if chart.kind == "line" and len(values) > 1:
        axes.plot(positions, values, marker="o", markersize=2)
    else:
        axes.bar(positions, values)
    step = max(1, len(positions) // 12)
    axes.set_xticks(positions[::step], chart.labels[::step], rotation=30, fontsize=7)
    axes.set_title(chart.title, fontsize=9)
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()
