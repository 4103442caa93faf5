"""JSON responses for hot list endpoints: orjson instead of pydantic validation + json.dumps.

The endpoint keeps its `response=` schema for the OpenAPI document and builds plain dicts in that
shape itself; validating our own output and encoding it in pure Python cost ~7–9 ms per 50-row page
(docs/performance.md). Datetimes go through Django's encoder so the text is the same as before
(`2026-01-02T03:04:05.678Z`).
"""

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

_default = DjangoJSONEncoder().default
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def dumps(data) -> bytes:
    return orjson.dumps(data, default=_default, option=_OPTIONS)


def json_response(data, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(data), status=status, content_type="application/json; charset=utf-8")
