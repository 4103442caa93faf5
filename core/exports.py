"""CSV and XLSX downloads for any list: one function, streamed, respecting the list's filters.

What a spreadsheet user expects (issue 12): labels rather than codes (columns pass `get_X_display`),
times in the user's zone (not UTC), amounts as numbers with two decimals, and in XLSX a frozen header
row, an autofilter and number formats. Every text cell goes through `neutralise_formula` (OWASP "CSV
injection"): a customer named `=HYPERLINK(...)` must reach a spreadsheet as text, never as a formula.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from . import dates

# Characters that make Excel, LibreOffice or Google Sheets read a cell as a formula or DDE call.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NUMBER_FORMATS = {
    "money": "#,##0.00",
    "number": "#,##0.###",
    "int": "#,##0",
    "datetime": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
    "percent": "0.00",
}


@dataclass(frozen=True)
class ExportColumn:
    header: str
    value: Callable[[Any], Any]
    # text, money, number, int, percent, datetime, date: how the value is written and formatted
    kind: str = "text"
    width: int | None = None


class _Echo:
    def write(self, value):
        return value


def neutralise_formula(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would evaluate; other text is unchanged."""
    if text and text.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _local(value):
    """Aware datetimes in the active (user's) zone, as naive values: spreadsheets have no zones."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    return value


def _cell(value, kind="text"):
    """A CSV cell: local times to the minute, amounts with 2 decimals, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return dates.datetime_text(value)  # the language's one format, in the user's zone
    if isinstance(value, date):
        return dates.date_text(value)
    if kind == "money" and isinstance(value, Decimal | int | float):
        return f"{Decimal(value):.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return neutralise_formula(value)
    if hasattr(value, "__html__") or not isinstance(value, int | float | Decimal):
        return neutralise_formula(str(value))  # lazy translations and other objects
    return value


def _xlsx_cell(sheet, value, kind="text"):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import TYPE_STRING

    value = _local(value)
    if value is not None and not isinstance(value, str | int | float | Decimal | date | datetime | bool):
        value = str(value)  # lazy translations
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # openpyxl writes any string starting with "=" as a formula unless told it is a string; the
        # quote prefix keeps it text (shown unchanged) even when someone edits the cell later.
        cell.data_type = TYPE_STRING
        if neutralise_formula(value) != value:
            cell.quotePrefix = True
    elif isinstance(value, datetime):
        cell.number_format = dates.excel_format(dates.DATETIME)
    elif isinstance(value, date):
        cell.number_format = dates.excel_format(dates.DATE)
    elif kind in NUMBER_FORMATS and isinstance(value, int | float | Decimal):
        cell.number_format = NUMBER_FORMATS[kind]
    return cell


def write_xlsx(rows: Iterable, columns: list[ExportColumn], title: str, target, progress=None) -> int:
    """Write an XLSX workbook to `target` (a path or file object); returns the number of data rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31] or "export")
    sheet.freeze_panes = "A2"  # the header row stays visible while scrolling
    for index, column in enumerate(columns, start=1):
        width = column.width or max(10, min(40, len(str(column.header)) + 4))
        if column.kind == "datetime":
            width = max(width, 17)
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = _xlsx_cell(sheet, str(column.header))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for count, row in enumerate(rows, start=1):  # noqa: B007 - count is the total after the loop
        sheet.append([_xlsx_cell(sheet, c.value(row), c.kind) for c in columns])
        if progress and count % 1000 == 0:
            progress(count)
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(1, len(columns)))}{count + 1}"
    workbook.save(target)
    return count


def csv_lines(rows: Iterable, columns: list[ExportColumn], progress=None):
    """The CSV as an iterator of text chunks (UTF-8 BOM first, so Excel reads Arabic names right)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([_cell(str(c.header)) for c in columns])
    for count, row in enumerate(rows, start=1):
        yield writer.writerow([_cell(c.value(row), c.kind) for c in columns])
        if progress and count % 1000 == 0:
            progress(count)


def export_response(rows: Iterable, columns: list[ExportColumn], filename: str, fmt: str):
    """`fmt` is "csv" or "xlsx"; `rows` should be an iterator (queryset.iterator()) for big lists."""
    if fmt == "xlsx":
        buffer = io.BytesIO()
        write_xlsx(rows, columns, filename.rsplit(".", 1)[0], buffer)
        response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    response = StreamingHttpResponse(csv_lines(rows, columns), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


# ---- large exports: built by the worker -------------------------------------------------------------
#
# A list view calls `export_list` instead of `export_response`. Up to `CUSTODY_EXPORT_SYNC_ROWS` rows the
# file streams at once; above that the request hands the (already filtered and branch-scoped) query
# to the registered queue (the `reports` app: an export job and a task in one transaction) and answers
# with its progress page. core imports no app, so the queue registers itself (`register_queue`).

_queue: Callable | None = None


def register_queue(handler: Callable) -> None:
    """`handler(request, queryset, columns_ref, columns_arg, filename, fmt)` → a response."""
    global _queue
    _queue = handler


def resolve_columns(columns_ref: str, columns_arg: str = "") -> list[ExportColumn]:
    """The columns named by a dotted path: a list, or a callable given `columns_arg` (see `export_list`)."""
    from django.utils.module_loading import import_string

    columns = import_string(columns_ref)
    return columns(columns_arg) if callable(columns) else list(columns)


def export_list(request, queryset, columns_ref: str, filename: str, fmt: str, columns_arg: str = ""):
    """Export exactly `queryset` (filtered and scoped like the screen, ordered) as CSV or XLSX.

    `columns_ref` is the dotted path of the list's `ExportColumn` list (or of a function taking
    `columns_arg`), so the worker can find the same columns. Small lists stream now; a list over
    `settings.CUSTODY_EXPORT_SYNC_ROWS` rows is queued for the worker (progress page, download link
    in the notifications inbox).
    """
    from django.conf import settings

    columns = resolve_columns(columns_ref, columns_arg)
    limit = settings.CUSTODY_EXPORT_SYNC_ROWS
    if _queue is not None and queryset.values("pk")[: limit + 1].count() > limit:
        return _queue(request, queryset, columns_ref, columns_arg, filename, fmt)
    return export_response(queryset.iterator(chunk_size=2000), columns, filename, fmt)
