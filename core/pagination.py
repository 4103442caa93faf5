"""List conventions shared by the API and the pages (DESIGN §15).

`?limit=` (default 50, max 200) with either `?cursor=` (keyset: stable and fast on deep pages)
or `?page=` (bounded offset, for page-numbered screens). Orderings are whitelisted per list and
always end with the primary key so keyset cursors are unique.

`count` is exact up to `count_cap` when a list passes one (the custody lists pass COUNT_CAP): above
it the response says `"count": 10000, "count_capped": true` (pages show "10,000+"), because an
exact COUNT(*) of a big set costs 75–250 ms at 1,000,000 custodies on every page.
"""

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from .errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_PAGE = 10_000
COUNT_CAP = 10_000


@dataclass
class Page:
    items: list
    count: int
    next: str | None
    previous_page: int | None = None
    page: int | None = None
    limit: int = DEFAULT_LIMIT
    ordering: str = ""
    count_capped: bool = False

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.limit))


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("Invalid cursor.", {"cursor": ["Invalid cursor."]}) from exc
    if not isinstance(values, list) or len(values) != 2:
        raise ValidationFailed("Invalid cursor.", {"cursor": ["Invalid cursor."]})
    return values


def clean_limit(limit: Any) -> int:
    if limit in (None, ""):
        return DEFAULT_LIMIT
    try:
        value = int(limit)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Invalid limit.", {"limit": ["Must be a whole number."]}) from exc
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationFailed("Invalid limit.", {"limit": [f"Must be between 1 and {MAX_LIMIT}."]})
    return value


def clean_ordering(ordering: str | None, allowed: set[str], default: str) -> str:
    ordering = (ordering or default).strip()
    if ordering.lstrip("-") not in allowed:
        raise ValidationFailed(
            "Invalid ordering.",
            {"ordering": [f"Use one of: {', '.join(sorted(allowed))} (prefix - for descending)."]},
        )
    return ordering


def paginate(
    queryset: QuerySet,
    *,
    params: dict,
    path: str,
    allowed_orderings: set[str],
    default_ordering: str = "-created_at",
    count: bool = True,
    count_cap: int | None = None,
    count_from: QuerySet | None = None,
) -> Page:
    """Apply ordering + cursor/page; `params` are the request's query parameters (for `next`).

    `queryset` may be a `.values()` queryset (rows are dicts then; they must include the ordering
    field and `id`). `count_from` is what to count instead, when `queryset` joins tables only for
    the columns it shows: the same rows (the same filters) without those joins. A `.values()` of
    joined columns keeps its joins in `.values("pk")`, so the count would join them too.
    """
    limit = clean_limit(params.get("limit"))
    ordering = clean_ordering(params.get("ordering"), allowed_orderings, default_ordering)
    field = ordering.lstrip("-")
    descending = ordering.startswith("-")
    pk = "-pk" if descending else "pk"
    ordered = queryset.order_by(ordering, pk)
    cursor = params.get("cursor")
    page_param = params.get("page")
    if cursor:
        value, last_pk = _decode(cursor)
        op = "lt" if descending else "gt"
        try:
            # The lookups convert the values now: a forged cursor fails here, not as a 500 later.
            # The plain range bound (lte/gte) lets an index seek to the cursor; the OR alone makes it scan
            # every row before it (340 ms → 4 ms at 1M custodies, docs/performance.md).
            bound = "lte" if op == "lt" else "gte"
            ordered = ordered.filter(**{f"{field}__{bound}": value}).filter(
                Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": last_pk})
            )
        except (DjangoValidationError, ValueError, TypeError) as exc:
            raise ValidationFailed("Invalid cursor.", {"cursor": ["Invalid cursor."]}) from exc
        rows = list(ordered[: limit + 1])
        page_no = None
    else:
        try:
            page_no = int(page_param) if page_param not in (None, "") else 1
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("Invalid page.", {"page": ["Must be a whole number."]}) from exc
        if not 1 <= page_no <= MAX_PAGE:
            raise ValidationFailed("Invalid page.", {"page": [f"Must be between 1 and {MAX_PAGE}."]})
        offset = (page_no - 1) * limit
        rows = list(ordered[offset : offset + limit + 1])

    has_more = len(rows) > limit
    rows = rows[:limit]
    total, capped = -1, False
    counted = queryset if count_from is None else count_from
    if not count:
        pass
    elif page_no is not None and not has_more and (rows or page_no == 1):
        # A numbered page that is the last one holds what is left: the rows of the pages before it plus
        # its own are the count, without a COUNT (most searches and narrow filters fit on one page).
        total = (page_no - 1) * limit + len(rows)
    elif count_cap is None:
        total = counted.count()
    else:
        # COUNT over at most cap + 1 rows: bounded work however big the set is.
        total = counted.order_by().values("pk")[: count_cap + 1].count()
    if count_cap is not None and total > count_cap:
        total, capped = count_cap, True
    next_url = None
    if has_more:
        pairs = params.lists() if hasattr(params, "lists") else ((k, [v]) for k, v in params.items())
        query = [(k, v) for k, values in pairs if k not in ("cursor", "page") for v in values]
        if page_no is not None and page_param not in (None, ""):
            query.append(("page", page_no + 1))
        else:
            last = rows[-1]
            last_pk = last["id"] if isinstance(last, dict) else last.pk
            query.append(("cursor", _encode([_value_of(last, field), str(last_pk)])))
        next_url = f"{path}?{urlencode(query)}"
    return Page(
        items=rows,
        count=total,
        next=next_url,
        page=page_no,
        limit=limit,
        ordering=ordering,
        count_capped=capped,
    )


def _value_of(obj, field: str):
    if isinstance(obj, dict):
        value = obj[field]
    else:
        value = obj
        for part in field.split("__"):
            value = getattr(value, part)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value) if value is not None else None


def page_for_request(request, queryset: QuerySet, **options) -> tuple[Page | None, str]:
    """A page for an HTML list: (page, "") or, for a stale or hand-edited `?cursor=`/`page=`/`ordering=`/
    `limit=`, (None, a message saying so) instead of an empty list. `options` as `paginate`."""
    try:
        return paginate(queryset, params=request.GET, path=request.path, **options), ""
    except ValidationFailed:
        return None, gettext(
            "This list address is not valid (its sort, page or position); start again from the first page."
        )
