"""CSV and XLSX downloads for any list: one function, streamed, respecting the list's filters.

Every text cell goes through `neutralise_formula` (OWASP "CSV injection"): a customer named
`=HYPERLINK(...)` must reach a spreadsheet as text, never as a live formula.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

# Characters that make Excel, LibreOffice or Google Sheets read a cell as a formula or DDE call.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


@dataclass(frozen=True)
class ExportColumn:
    header: str
    value: Callable[[Any], Any]


class _Echo:
    def write(self, value):
        return value


def neutralise_formula(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would evaluate; other text is unchanged."""
    if text and text.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise_formula(value)
    return value


def _xlsx_cell(sheet, value):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import TYPE_STRING

    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones; stored as UTC
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # openpyxl writes any string starting with "=" as a formula unless told it is a string; the
        # quote prefix keeps it text (shown unchanged) even when someone edits the cell later.
        cell.data_type = TYPE_STRING
        if neutralise_formula(value) != value:
            cell.quotePrefix = True
    return cell


def export_response(rows: Iterable, columns: list[ExportColumn], filename: str, fmt: str):
    """`fmt` is "csv" or "xlsx"; `rows` should be an iterator (queryset.iterator()) for big lists."""
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(filename.rsplit(".", 1)[0][:31])

        def cells(values):
            return [_xlsx_cell(sheet, value) for value in values]

        sheet.append(cells([str(c.header) for c in columns]))
        for row in rows:
            sheet.append(cells([column.value(row) for column in columns]))
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"  # BOM so Excel opens UTF-8 (Arabic names) correctly
        yield writer.writerow([_cell(str(c.header)) for c in columns])
        for row in rows:
            yield writer.writerow([_cell(c.value(row)) for c in columns])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
