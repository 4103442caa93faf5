"""{% query_with %} writes exactly what copying request.GET and urlencode() wrote (core.templatetags.ui)."""

import pytest
from django.test import RequestFactory

from core.templatetags.ui import query_with


def reference(request, **kwargs) -> str:
    """The tag as it was: copy the query, replace, encode."""
    params = request.GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    params.pop("cursor", None) if "page" in kwargs else None
    return "?" + params.urlencode()


QUERIES = [
    "",
    "status=active&status=approved&ordering=-created_at&page=3",
    "q=a%20b%26c%3Dd&plate=DXB+1&cursor=abc&format=csv",
    "q=%D8%B9%D9%87%D8%AF%D8%A9&x=&x=1&ordering=custodian_name",
    "page=2&limit=50&branch_id=7b0e6c7e-1111-4222-8333-944455556666",
]
CHANGES = [
    {},
    {"ordering": "-custody_no", "page": ""},
    {"page": 4},
    {"format": "csv", "page": ""},
    {"status": None, "new": "ü & <x>"},
    {"cursor": "next", "ordering": "created_at"},
]


@pytest.mark.parametrize("query", QUERIES)
def test_query_with_is_what_it_was(query):
    request = RequestFactory().get(f"/custodies/?{query}")
    for changes in CHANGES:  # several links of one page share the request's encoded query
        assert query_with({"request": request}, **changes) == reference(request, **changes)
