"""A partner's monthly statement as CSV and as a PDF (reportlab) with the broker's branding."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse

from brokerage.csv_export import csv_cell, csv_response
from partners.commissions.selectors import Statement

HEADER = [
    "line",
    "kind",
    "deal time (UTC)",
    "symbol",
    "level",
    "lots",
    "amount",
    "currency",
    "fx rate",
    "wallet amount",
    "wallet currency",
    "formula",
]


def _rows(statement: Statement) -> Iterator[list[Any]]:
    for line in statement.lines.iterator(chunk_size=2000):
        yield [
            line.pk,
            line.kind,
            f"{line.deal_time:%Y-%m-%d %H:%M:%S}",
            csv_cell(line.symbol),
            line.level,
            line.lots.normalize(),
            line.amount,
            line.currency,
            line.fx_rate.normalize(),
            line.wallet_amount,
            line.wallet_currency,
            csv_cell(line.formula),
        ]


def statement_csv(statement: Statement) -> StreamingHttpResponse:
    return csv_response(
        header=HEADER, rows=_rows(statement), filename=f"commissions-{statement.period}.csv"
    )


def statement_pdf(statement: Statement) -> HttpResponse:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    brand = colors.HexColor(settings.BROKER_BRAND_COLOUR)
    styles = getSampleStyleSheet()
    styles["Title"].textColor = brand
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"Commission statement {statement.period}",
        author=settings.BROKER_NAME,
    )  # fmt: skip
    story: list[Any] = [
        Paragraph(settings.BROKER_NAME, styles["Title"]),
        Paragraph(
            f"Commission statement {statement.period} for {statement.partner.name}",
            styles["Heading2"],
        ),
        Spacer(1, 8),
    ]
    totals = [["Kind", "Lines", "Total"]] + [
        [t["kind"], str(t["count"]), f"{t['total']:.2f} {t['wallet_currency']}"]
        for t in statement.totals
    ]
    if len(totals) == 1:
        totals.append(["—", "0", "0.00"])
    story.append(_table(totals, brand, TableStyle, Table, colors))
    story.append(Spacer(1, 12))
    rows = [["Time (UTC)", "Symbol", "Lvl", "Lots", "Amount", "Formula"]]
    small = styles["BodyText"].clone("small", fontSize=7, leading=8)
    for line in statement.lines[:5000]:
        rows.append(
            [
                f"{line.deal_time:%m-%d %H:%M}",
                line.symbol,
                str(line.level),
                f"{line.lots.normalize()}",
                f"{line.wallet_amount:.2f} {line.wallet_currency}",
                Paragraph(line.formula, small),
            ]
        )
    story.append(_table(rows, brand, TableStyle, Table, colors, widths=[55, 50, 22, 40, 70, 280]))
    doc.build(story)
    response = HttpResponse(buffer.getvalue(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="commissions-{statement.period}.pdf"'
    return response


def _table(
    rows: list[list[Any]], brand: Any, style: Any, table: Any, colors: Any, widths: Any = None
) -> Any:
    t = table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(
        style(
            [
                ("BACKGROUND", (0, 0), (-1, 0), brand),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.lightgrey),
            ]
        )
    )
    return t
