"""CSV and XLSX downloads for any list: one function, streamed, respecting the list's filters."""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse


@dataclass(frozen=True)
class ExportColumn:
    header: str
    value: Callable[[Any], Any]


class _Echo:
    def write(self, value):
        return value


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def export_response(rows: Iterable, columns: list[ExportColumn], filename: str, fmt: str):
    """`fmt` is "csv" or "xlsx"; `rows` should be an iterator (queryset.iterator()) for big lists."""
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(filename.rsplit(".", 1)[0][:31])
        sheet.append([str(c.header) for c in columns])
        for row in rows:
            values = []
            for column in columns:
                value = column.value(row)
                if hasattr(value, "tzinfo") and value.tzinfo is not None:
                    value = value.replace(tzinfo=None)  # Excel has no time zones; stored as UTC
                values.append(value)
            sheet.append(values)
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
        yield writer.writerow([str(c.header) for c in columns])
        for row in rows:
            yield writer.writerow([_cell(c.value(row)) for c in columns])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
