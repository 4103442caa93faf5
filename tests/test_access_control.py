"""One access-control table for every API operation and every page (DESIGN §2, issue #13).

The routes come from the application itself: every operation of the Ninja API and every URL pattern
of Django's resolver (the Django admin aside: it is behind Django's own staff check). For each route
the table below has one row: how to call it (on a record of the user's branch, "own", and on the same
record in another branch, "other"), which roles may, and what they get. One test per route asks, as
each role, for each case, plus once without an account, and compares the answers with the row.
A route without a row fails ("new route without a row"), so a new endpoint must say who may use it.

Cells (status a role gets): `ok` when the role may act on its own branch's record; `denied` (403)
when the role may not; `other` (404: the record does not exist for them) for a record in another
branch, except for the admin who sees every branch and gets `ok`. Where a role may never take an
action, the role is refused first whatever the record (`denied` for "other" too, role before state:
refusals reveal nothing). Rows name their exceptions in `cells`.

Every request runs in a savepoint rolled back after it, so each cell sees the same records.
"""

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from accounts.choices import Role
from tests import access_world

V, O, S, M, F, A = Role.VIEWER, Role.OPERATOR, Role.SUPERVISOR, Role.MANAGER, Role.FINANCE, Role.ADMIN  # noqa: E741
ROLES = access_world.ROLES
ALL = frozenset(ROLES)
OPERATORS = frozenset({O, S, M, A})
SUPERVISORS = frozenset({S, M, A})
MANAGERS = frozenset({M, A})
FIN = frozenset({M, F, A})
ADMINS = frozenset({A})
SIDES = ("own", "other")
ANON = "anonymous"


# --------------------------------------------------------------------------------------------------
# The route list, from the application
# --------------------------------------------------------------------------------------------------


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def application_routes() -> list[str]:
    """ "METHOD api/v1/..." for each API operation, "PAGE path" for each page URL pattern."""
    routes: set[str] = set()
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("django-admin/"):
            continue
        closure = getattr(pattern.callback, "__closure__", None) or ()
        path_view = next((c.cell_contents for c in closure if hasattr(c.cell_contents, "operations")), None)
        if route.startswith("api/") and path_view is not None:
            for operation in path_view.operations:
                routes.update(f"{method} {route}" for method in operation.methods)
        else:
            routes.add(f"PAGE {route}")
    return sorted(routes)


# --------------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------------


@dataclass
class Row:
    method: str  # HTTP method of the request made
    path: Callable | None  # (world, side namespace, user) -> dict of the route's parameters
    allowed: frozenset = ALL
    ok: int = 200
    denied: int = 403
    other: int | None = 404  # None: the route has no record of a branch (or a person) to miss
    other_denied: int | None = None  # a role that may not act, on another branch's record (default: other)
    anon: int = 401  # pages: 302 to the login page
    body: Callable | dict | None = None  # JSON body (API) or form data (pages)
    cells: dict = field(default_factory=dict)  # (role, side) -> status: the row's exceptions
    note: str = ""

    def expected(self, role: str, side: str) -> int:
        if (role, side) in self.cells:
            return self.cells[(role, side)]
        if side == "other" and role != A:
            if role not in self.allowed and self.other_denied is not None:
                return self.other_denied
            return self.other
        return self.ok if role in self.allowed else self.denied


def api(method, path=None, **kw) -> Row:
    return Row(method, path, **kw)


def page(method, path=None, **kw) -> Row:
    kw.setdefault("anon", 302)
    return Row(method, path, **kw)


def public(method, path=None, status=200, anon=None, **kw) -> Row:
    """No account needed: every role (and nobody) gets the same."""
    return Row(method, path, ok=status, other=None, anon=status if anon is None else anon, **kw)


def _iso(delta=timedelta()):
    return (timezone.now() + delta).isoformat()


custody_draft = lambda w, s, u: {"custody_id": s.draft.pk}  # noqa: E731
custody_pending = lambda w, s, u: {"custody_id": s.pending.pk}  # noqa: E731
custody_approved = lambda w, s, u: {"custody_id": s.approved.pk}  # noqa: E731
custody_active = lambda w, s, u: {"custody_id": s.active.pk}  # noqa: E731
own_token = lambda w, s, u: {"token_id": (w.tokens[u.pk] if s is w.own else w.outsider_token).pk}  # noqa: E731
own_notification = lambda w, s, u: {  # noqa: E731
    "notification_id": w.notifications[u.pk if s is w.own else w.outsider.pk].pk
}
own_ticket = lambda w, s, u: {"ticket_id": w.tickets[u.pk if s is w.own else w.outsider.pk].pk}  # noqa: E731
a_user = lambda w, s, u: {"user_id": (w.users[V] if s is w.own else w.outsider).pk}  # noqa: E731
# The user's own saved filter, or the outsider's (shared with the other branch only).
own_filter = lambda w, s, u: {"pk": w.saved_filters[u.pk if s is w.own else w.outsider.pk].pk}  # noqa: E731


DRAFT_409 = "the record is a draft: the role passes, the state refuses (role before state)"
# A person's own record (token, notification): another person's does not exist, for the admin too.
PERSONAL = {(A, "other"): 404}

TABLE: dict[str, Row] = {
    # ---------------------------------------------------------------- API: accounts
    "POST api/v1/auth/token": public(
        "POST", body={"email": "viewer@example.com", "password": "wrong-one"}, status=401
    ),
    "GET api/v1/me": api("GET", other=None),
    "GET api/v1/tokens": api("GET", other=None),
    "POST api/v1/tokens": api("POST", body={"name": "ci"}, ok=201, other=None),
    "POST api/v1/tokens/<token_id>/revoke": api("POST", own_token, cells=PERSONAL),
    "GET api/v1/users": api("GET", allowed=ADMINS, other=None),
    "POST api/v1/users": api(
        "POST",
        allowed=ADMINS,
        other=None,
        ok=201,
        body={"email": "new@example.com", "full_name": "New", "role": "viewer", "all_branches": True},
    ),
    "GET api/v1/users/<user_id>": api("GET", a_user, allowed=ADMINS, other_denied=403),
    "PATCH api/v1/users/<user_id>": api(
        "PATCH",
        a_user,
        allowed=ADMINS,
        other_denied=403,
        body=lambda w, s, u: {
            "full_name": "Renamed",
            "version": (w.users[V] if s is w.own else w.outsider).version,
        },
    ),
    "POST api/v1/users/<user_id>/deactivate": api("POST", a_user, allowed=ADMINS, other_denied=403),
    "POST api/v1/users/<user_id>/reactivate": api("POST", a_user, allowed=ADMINS, other_denied=403),
    "POST api/v1/users/<user_id>/reset-password": api("POST", a_user, allowed=ADMINS, other_denied=403),
    # ---------------------------------------------------------------- API: reference data
    "GET api/v1/branches": api("GET", other=None),
    "POST api/v1/branches": api(
        "POST", allowed=ADMINS, other=None, ok=201, body={"code": "SHJ", "name": "Sharjah"}
    ),
    "GET api/v1/branches/<branch_id>": api("GET", lambda w, s, u: {"branch_id": s.branch.pk}),
    "PATCH api/v1/branches/<branch_id>": api(
        "PATCH", lambda w, s, u: {"branch_id": s.branch.pk}, allowed=ADMINS, body={"city": "Dubai"}
    ),
    "GET api/v1/customers": api("GET", other=None),
    "POST api/v1/customers": api(
        "POST",
        allowed=OPERATORS,
        other=None,
        ok=201,
        body={"customer_no": "C-777777", "full_name": "New Customer"},
    ),
    "GET api/v1/customers/<customer_id>": api(
        "GET", lambda w, s, u: {"customer_id": w.customer.pk}, other=None
    ),
    "PATCH api/v1/customers/<customer_id>": api(
        "PATCH",
        lambda w, s, u: {"customer_id": w.customer.pk},
        allowed=OPERATORS,
        other=None,
        body={"phone": "+971 50 000 0000"},
    ),
    "GET api/v1/vehicle-classes": api("GET", other=None),
    "POST api/v1/vehicle-classes": api(
        "POST",
        allowed=ADMINS,
        other=None,
        ok=201,
        body={"code": "LUX", "name": "Luxury", "daily_rate": "900.00", "monthly_rate": "18000.00"},
    ),
    "GET api/v1/vehicle-classes/<vehicle_class_id>": api(
        "GET", lambda w, s, u: {"vehicle_class_id": w.vehicle_class.pk}, other=None
    ),
    "PATCH api/v1/vehicle-classes/<vehicle_class_id>": api(
        "PATCH",
        lambda w, s, u: {"vehicle_class_id": w.vehicle_class.pk},
        allowed=ADMINS,
        other=None,
        body={"name": "Compact+"},
    ),
    "GET api/v1/vehicles": api("GET", other=None),
    "POST api/v1/vehicles": api(
        "POST",
        lambda w, s, u: {},
        allowed=MANAGERS,
        ok=201,
        other=422,
        other_denied=403,
        body=lambda w, s, u: {
            "plate": "NEW-1",
            "vin": "NEWVEHJCLE0000001",
            "make": "Nissan",
            "model": "Sunny",
            "year": 2025,
            "vehicle_class_id": str(w.vehicle_class.pk),
            "branch_id": str(s.branch.pk),
        },
    ),
    "GET api/v1/vehicles/available": api("GET", other=None),
    "GET api/v1/vehicles/<vehicle_id>": api("GET", lambda w, s, u: {"vehicle_id": s.spare.pk}),
    "PATCH api/v1/vehicles/<vehicle_id>": api(
        "PATCH", lambda w, s, u: {"vehicle_id": s.spare.pk}, allowed=MANAGERS, body={"odometer_km": 13000}
    ),
    "GET api/v1/agreements": api("GET", other=None),
    "POST api/v1/agreements": api(
        "POST",
        lambda w, s, u: {},
        allowed=MANAGERS,
        ok=201,
        other=422,
        other_denied=403,
        body=lambda w, s, u: {
            "agreement_no": "RA-NEW-1",
            "customer_id": str(w.customer.pk),
            "vehicle_id": str(s.spare.pk),
            "branch_id": str(s.branch.pk),
            "start_at": _iso(timedelta(days=1)),
            "end_at": _iso(timedelta(days=31)),
            "daily_rate": "150.00",
            "monthly_rate": "3000.00",
        },
    ),
    "GET api/v1/agreements/<agreement_id>": api("GET", lambda w, s, u: {"agreement_id": s.agreement.pk}),
    "PATCH api/v1/agreements/<agreement_id>": api(
        "PATCH",
        lambda w, s, u: {"agreement_id": s.agreement.pk},
        allowed=MANAGERS,
        body={"deposit_amount": "900.00"},
    ),
    "GET api/v1/special-rate-codes": api("GET", other=None),
    "POST api/v1/special-rate-codes": api(
        "POST", allowed=ADMINS, other=None, ok=201, body={"code": "CORP", "daily_rate": "80.00"}
    ),
    "GET api/v1/special-rate-codes/<code_id>": api(
        "GET", lambda w, s, u: {"code_id": w.special_rate.pk}, other=None
    ),
    "PATCH api/v1/special-rate-codes/<code_id>": api(
        "PATCH",
        lambda w, s, u: {"code_id": w.special_rate.pk},
        allowed=ADMINS,
        other=None,
        body={"daily_rate": "85.00"},
    ),
    "GET api/v1/tax-profiles": api("GET", other=None),
    "POST api/v1/tax-profiles": api(
        "POST", allowed=ADMINS, other=None, ok=201, body={"name": "Zero", "rate_percent": "0.00"}
    ),
    "GET api/v1/tax-profiles/<profile_id>": api(
        "GET", lambda w, s, u: {"profile_id": w.tax_profile.pk}, other=None
    ),
    "PATCH api/v1/tax-profiles/<profile_id>": api(
        "PATCH",
        lambda w, s, u: {"profile_id": w.tax_profile.pk},
        allowed=ADMINS,
        other=None,
        body={"name": "VAT"},
    ),
    # ---------------------------------------------------------------- API: custodies
    "GET api/v1/custodies": api("GET", other=None),
    "POST api/v1/custodies": api(
        "POST",
        lambda w, s, u: {},
        allowed=OPERATORS,
        ok=201,
        other=422,
        other_denied=403,
        body=lambda w, s, u: {
            "branch_id": str(s.branch.pk),
            "customer_id": str(w.customer.pk),
            "custodian_type": "customer",
            "custodian_name": "Ahmed",
            "reason_code": "maintenance",
            "reason_subcode": "regular_service",
            "incident_at": _iso(-timedelta(hours=1)),
            "effective_from": _iso(),
            "rate_policy": "free",
        },
    ),
    "GET api/v1/custodies/<custody_id>": api("GET", custody_draft),
    "PATCH api/v1/custodies/<custody_id>": api(
        "PATCH", custody_draft, allowed=OPERATORS, body={"notes": "n"}
    ),
    "POST api/v1/custodies/<custody_id>/submit": api("POST", custody_draft, allowed=OPERATORS, body={}),
    "POST api/v1/custodies/<custody_id>/approve": api("POST", custody_pending, allowed=SUPERVISORS, body={}),
    "POST api/v1/custodies/<custody_id>/reject": api(
        "POST", custody_pending, allowed=SUPERVISORS, body={"reason": "Not needed"}
    ),
    "POST api/v1/custodies/<custody_id>/replacement": api(
        "POST",
        custody_pending,
        allowed=SUPERVISORS,
        body=lambda w, s, u: {"replacement_vehicle_id": str(s.spare.pk)},
    ),
    "POST api/v1/custodies/<custody_id>/handover": api(
        "POST", custody_approved, allowed=OPERATORS, body={"odometer_km": 20000, "fuel_level": 8}
    ),
    "POST api/v1/custodies/<custody_id>/close": api(
        "POST",
        custody_active,
        allowed=OPERATORS,
        ok=422,
        note="a draft charge blocks closing: past the role",
        body=lambda w, s, u: {"returned_at": _iso(), "odometer_km": 20100, "fuel_level": 8},
    ),
    "POST api/v1/custodies/<custody_id>/void": api(
        "POST", custody_active, allowed=MANAGERS, body={"reason": "Entered twice"}
    ),
    "GET api/v1/custodies/<custody_id>/approvals": api("GET", custody_pending),
    "GET api/v1/custodies/<custody_id>/audit": api("GET", custody_active),
    # ---------------------------------------------------------------- API: billing
    "GET api/v1/custodies/<custody_id>/charges": api("GET", custody_active),
    "POST api/v1/custodies/<custody_id>/charges": api(
        "POST",
        custody_active,
        allowed=OPERATORS | {F},
        ok=201,
        body={
            "charge_type": "fuel",
            "description": "Fuel",
            "quantity": "1",
            "unit_price": "20.00",
            "responsibility": "customer",
        },
    ),
    "GET api/v1/charges": api("GET", other=None),
    "GET api/v1/charges/<charge_id>": api("GET", lambda w, s, u: {"charge_id": s.charge_draft.pk}),
    "PATCH api/v1/charges/<charge_id>": api(
        "PATCH",
        lambda w, s, u: {"charge_id": s.charge_draft.pk},
        allowed=OPERATORS | {F},
        body={"description": "Scratch, rear"},
    ),
    "POST api/v1/charges/<charge_id>/post": api(
        "POST", lambda w, s, u: {"charge_id": s.charge_draft.pk}, allowed=FIN
    ),
    "POST api/v1/charges/<charge_id>/void": api(
        "POST", lambda w, s, u: {"charge_id": s.charge_draft.pk}, allowed=FIN, body={"reason": "Wrong"}
    ),
    "GET api/v1/custodies/<custody_id>/payments": api("GET", custody_active),
    "POST api/v1/custodies/<custody_id>/payments": api(
        "POST",
        custody_active,
        allowed=OPERATORS | {F},
        ok=201,
        body={"amount": "10.00", "method": "cash", "payer": "customer"},
    ),
    "GET api/v1/custodies/<custody_id>/invoices": api("GET", custody_active),
    "POST api/v1/custodies/<custody_id>/invoices": api(
        "POST", custody_active, allowed={F, A}, ok=409, body={}, note="already invoiced: past the role"
    ),
    "GET api/v1/custodies/<custody_id>/balance": api("GET", custody_active),
    "GET api/v1/custodies/<custody_id>/holds": api("GET", custody_active),
    "POST api/v1/custodies/<custody_id>/holds": api(
        "POST", custody_active, allowed=OPERATORS | {F}, ok=201, body={"amount": "100.00"}
    ),
    "POST api/v1/holds/<hold_id>/capture": api(
        "POST", lambda w, s, u: {"hold_id": s.hold.pk}, allowed=FIN, body={"amount": "10.00"}
    ),
    "POST api/v1/holds/<hold_id>/release": api(
        "POST", lambda w, s, u: {"hold_id": s.hold.pk}, allowed=OPERATORS | {F}
    ),
    # ---------------------------------------------------------------- API: integrations
    "GET api/v1/webhook-endpoints": api("GET", allowed=ADMINS, other=None),
    "POST api/v1/webhook-endpoints": api(
        "POST",
        allowed=ADMINS,
        other=None,
        ok=201,
        body={
            "name": "Billing",
            "url": "http://127.0.0.1:9/b",
            "integration_type": "billing",
            "events": ["charge.posted"],
        },
    ),
    "PATCH api/v1/webhook-endpoints/<endpoint_id>": api(
        "PATCH",
        lambda w, s, u: {"endpoint_id": w.endpoint.pk},
        allowed=ADMINS,
        other=None,
        body={"name": "F2"},
    ),
    "POST api/v1/webhook-endpoints/<endpoint_id>/rotate-secret": api(
        "POST", lambda w, s, u: {"endpoint_id": w.endpoint.pk}, allowed=ADMINS, other=None
    ),
    "POST api/v1/webhook-endpoints/<endpoint_id>/test": api(
        "POST", lambda w, s, u: {"endpoint_id": w.endpoint.pk}, allowed=ADMINS, other=None, ok=202
    ),
    "GET api/v1/webhook-deliveries": api("GET", allowed=ADMINS, other=None),
    "GET api/v1/webhook-deliveries/<delivery_id>": api(
        "GET", lambda w, s, u: {"delivery_id": w.delivery.pk}, allowed=ADMINS, other=None
    ),
    "POST api/v1/webhook-deliveries/<delivery_id>/redeliver": api(
        "POST", lambda w, s, u: {"delivery_id": w.delivery.pk}, allowed=ADMINS, other=None
    ),
    "POST api/v1/integrations/<source>/events": public(
        "POST",
        lambda w, s, u: {"source": "fleet"},
        body={"id": "evt-1", "type": "vehicle.ready"},
        status=401,
        note="authenticated by the endpoint's HMAC signature, not by a user",
    ),
    # ---------------------------------------------------------------- API: documents
    "POST api/v1/custodies/<custody_id>/documents": api(
        "POST", custody_draft, allowed=OPERATORS, ok=201, body="multipart"
    ),
    "GET api/v1/custodies/<custody_id>/documents": api("GET", custody_draft),
    "GET api/v1/documents/<document_id>": api("GET", lambda w, s, u: {"document_id": s.document.pk}),
    "GET api/v1/documents/<document_id>/download": api("GET", lambda w, s, u: {"document_id": s.document.pk}),
    # ---------------------------------------------------------------- API: notifications, reports
    "GET api/v1/notifications": api("GET", other=None),
    "POST api/v1/notifications/read-all": api("POST", other=None),
    "POST api/v1/notifications/<notification_id>/read": api("POST", own_notification, cells=PERSONAL),
    "GET api/v1/reports/kpis": api("GET", other=None),
    # ---------------------------------------------------------------- API: quotes and cost sheets
    "GET api/v1/quotes": api("GET", other=None),
    "POST api/v1/quotes": api(
        "POST",
        lambda w, s, u: {},
        allowed=OPERATORS | {F},
        ok=201,
        other=422,
        other_denied=403,
        body=lambda w, s, u: {
            "customer_id": str(w.company.pk),
            "branch_id": str(s.branch.pk),
            "valid_until": str(timezone.localdate() + timedelta(days=30)),
            "lines": [
                {
                    "vehicle_class_id": str(w.suv.pk),
                    "quantity": 1,
                    "term_months": 12,
                    "monthly_rate": "4000.00",
                }
            ],
        },
    ),
    "GET api/v1/quotes/<quote_id>": api("GET", lambda w, s, u: {"quote_id": s.quote.pk}),
    "PATCH api/v1/quotes/<quote_id>": api(
        "PATCH",
        lambda w, s, u: {"quote_id": s.quote.pk},
        allowed=OPERATORS | {F},
        body=lambda w, s, u: {"notes": "n", "version": s.quote.version},
    ),
    "POST api/v1/quotes/<quote_id>/submit": api(
        "POST",
        lambda w, s, u: {"quote_id": s.quote.pk},
        allowed=OPERATORS | {F},
        ok=422,
        body={},
        note="a corporate quote needs an approved cost sheet: past the role",
    ),
    "POST api/v1/quotes/<quote_id>/approve": api(
        "POST", lambda w, s, u: {"quote_id": s.quote.pk}, allowed=FIN, ok=409, body={}, note=DRAFT_409
    ),
    "POST api/v1/quotes/<quote_id>/reject": api(
        "POST",
        lambda w, s, u: {"quote_id": s.quote.pk},
        allowed=FIN,
        ok=409,
        body={"reason": "No"},
        note=DRAFT_409,
    ),
    "POST api/v1/quotes/<quote_id>/send": api(
        "POST",
        lambda w, s, u: {"quote_id": s.quote.pk},
        allowed=OPERATORS | {F},
        ok=409,
        body={},
        note=DRAFT_409,
    ),
    "GET api/v1/cost-sheets": api("GET", other=None),
    "POST api/v1/cost-sheets": api(
        "POST",
        lambda w, s, u: {},
        allowed=OPERATORS | {F},
        ok=201,
        other=422,
        other_denied=403,
        body=lambda w, s, u: {"quote_id": str(s.quote.pk)},
    ),
    "GET api/v1/cost-sheets/<sheet_id>": api("GET", lambda w, s, u: {"sheet_id": s.sheet.pk}),
    "PATCH api/v1/cost-sheets/<sheet_id>": api(
        "PATCH",
        lambda w, s, u: {"sheet_id": s.sheet.pk},
        allowed=OPERATORS | {F},
        body=lambda w, s, u: {"overhead_pct": "9.00", "revision": s.sheet.revision},
    ),
    "POST api/v1/cost-sheets/<sheet_id>/submit": api(
        "POST", lambda w, s, u: {"sheet_id": s.sheet.pk}, allowed=OPERATORS | {F}, body={}
    ),
    "POST api/v1/cost-sheets/<sheet_id>/approve": api(
        "POST", lambda w, s, u: {"sheet_id": s.sheet.pk}, allowed=FIN, ok=409, body={}, note=DRAFT_409
    ),
    "POST api/v1/cost-sheets/<sheet_id>/reject": api(
        "POST",
        lambda w, s, u: {"sheet_id": s.sheet.pk},
        allowed=FIN,
        ok=409,
        body={"reason": "No"},
        note=DRAFT_409,
    ),
    "POST api/v1/cost-sheets/<sheet_id>/apply": api(
        "POST",
        lambda w, s, u: {"sheet_id": s.sheet.pk},
        allowed=OPERATORS | {F},
        ok=409,
        body={},
        note=DRAFT_409,
    ),
    # ---------------------------------------------------------------- API: operations, support
    "GET api/v1/system": api("GET", other=None),
    "PATCH api/v1/system": api("PATCH", allowed=ADMINS, other=None, body={"message": "Hello"}),
    "POST api/v1/support-tickets": api(
        "POST", other=None, ok=201, body={"severity": "low", "subject": "Slow", "description": "Slow page"}
    ),
    "GET api/v1/support-tickets": api("GET", other=None),
    "GET api/v1/support-tickets/<ticket_id>": api("GET", own_ticket),
    "PATCH api/v1/support-tickets/<ticket_id>": api("PATCH", own_ticket, body={"status": "closed"}),
    "GET api/v1/support-tickets/<ticket_id>/comments": api("GET", own_ticket),
    "POST api/v1/support-tickets/<ticket_id>/comments": api(
        "POST", own_ticket, ok=201, body={"body": "More"}
    ),
    "POST api/v1/feedback": api("POST", other=None, ok=201, body={"score": 5}),
    # ================================================================ pages
    "PAGE ": page("GET", other=None),
    "PAGE reports/": page("GET", other=None),
    # ---------------------------------------------------------------- accounts (public forms)
    "PAGE accounts/login/": public("GET", status=302, anon=200, note="signed in: on to the dashboard"),
    "PAGE accounts/login/verify/": public("GET", status=302),
    "PAGE accounts/two-factor/": page("GET", other=None),
    "PAGE accounts/logout/": page("POST", other=None, ok=302),
    "PAGE accounts/password/change/": page("GET", other=None),
    "PAGE accounts/password/reset/": public("GET"),
    "PAGE accounts/password/reset/sent/": public("GET"),
    "PAGE accounts/password/reset/<uidb64>/<token>/": public(
        "GET", lambda w, s, u: {"uidb64": "MQ", "token": "bad-token"}
    ),
    "PAGE accounts/set-password/<uidb64>/<token>/": public(
        "GET", lambda w, s, u: {"uidb64": "MQ", "token": "bad-token"}
    ),
    "PAGE accounts/settings/": page("GET", other=None),
    "PAGE accounts/settings/tokens/": page("POST", other=None, ok=302, body={"name": "cli"}),
    "PAGE accounts/settings/tokens/<uuid:token_id>/revoke/": page("POST", own_token, ok=302, cells=PERSONAL),
    # ---------------------------------------------------------------- saved list filters
    # Everyone saves and applies filters; only the owner changes one. The admin (all branches) sees the
    # outsider's filter shared with AUH: may apply it, may not change it.
    "PAGE filters/<uuid:pk>/": page("GET", own_filter, ok=302),
    "PAGE filters/<uuid:pk>/edit/": page("GET", own_filter, cells={(A, "other"): 403}),
    "PAGE filters/<uuid:pk>/delete/": page("POST", own_filter, ok=302, cells={(A, "other"): 403}),
    "PAGE filters/<str:list_key>/": page("GET", lambda w, s, u: {"list_key": "custodies"}, other=None),
    "PAGE filters/<str:list_key>/new/": page(
        "POST",
        lambda w, s, u: {"list_key": "custodies"},
        other=None,
        ok=302,
        body={"name": "Overdue", "query": "overdue=1"},
    ),
    # ---------------------------------------------------------------- reference data
    "PAGE vehicles/": page("GET", other=None),
    "PAGE vehicles/new/": page("GET", allowed=MANAGERS, other=None),
    "PAGE vehicles/<uuid:pk>/": page("GET", lambda w, s, u: {"pk": s.spare.pk}),
    "PAGE vehicles/<uuid:pk>/edit/": page("GET", lambda w, s, u: {"pk": s.spare.pk}, allowed=MANAGERS),
    "PAGE vehicles/<uuid:pk>/history/": page("GET", lambda w, s, u: {"pk": s.spare.pk}),
    "PAGE vehicles/availability/": page("GET", other=None),
    "PAGE vehicles/availability/replacement/<uuid:pk>/": page(
        "GET",
        lambda w, s, u: {"pk": s.draft.pk},
        note="a read: the wizard's replacement calendar for the draft",
    ),
    "PAGE customers/": page("GET", other=None),
    "PAGE customers/new/": page("GET", allowed=OPERATORS, other=None),
    "PAGE customers/<uuid:pk>/": page("GET", lambda w, s, u: {"pk": w.customer.pk}, other=None),
    "PAGE customers/<uuid:pk>/edit/": page(
        "GET", lambda w, s, u: {"pk": w.customer.pk}, allowed=OPERATORS, other=None
    ),
    "PAGE agreements/": page("GET", other=None),
    "PAGE agreements/new/": page("GET", allowed=MANAGERS, other=None),
    "PAGE agreements/<uuid:pk>/": page("GET", lambda w, s, u: {"pk": s.agreement.pk}),
    "PAGE agreements/<uuid:pk>/edit/": page("GET", lambda w, s, u: {"pk": s.agreement.pk}, allowed=MANAGERS),
    "PAGE manage/branches/": page("GET", other=None),
    "PAGE manage/branches/new/": page("GET", allowed=ADMINS, other=None),
    "PAGE manage/branches/<uuid:pk>/": page("GET", lambda w, s, u: {"pk": s.branch.pk}),
    "PAGE manage/branches/<uuid:pk>/edit/": page("GET", lambda w, s, u: {"pk": s.branch.pk}, allowed=ADMINS),
    "PAGE manage/vehicle-classes/": page("GET", other=None),
    "PAGE manage/vehicle-classes/new/": page("GET", allowed=ADMINS, other=None),
    "PAGE manage/vehicle-classes/<uuid:pk>/": page(
        "GET", lambda w, s, u: {"pk": w.vehicle_class.pk}, other=None
    ),
    "PAGE manage/vehicle-classes/<uuid:pk>/edit/": page(
        "GET", lambda w, s, u: {"pk": w.vehicle_class.pk}, allowed=ADMINS, other=None
    ),
    "PAGE manage/special-rate-codes/": page("GET", other=None),
    "PAGE manage/special-rate-codes/new/": page("GET", allowed=ADMINS, other=None),
    "PAGE manage/special-rate-codes/<uuid:pk>/": page(
        "GET", lambda w, s, u: {"pk": w.special_rate.pk}, other=None
    ),
    "PAGE manage/special-rate-codes/<uuid:pk>/edit/": page(
        "GET", lambda w, s, u: {"pk": w.special_rate.pk}, allowed=ADMINS, other=None
    ),
    "PAGE manage/tax-profiles/": page("GET", other=None),
    "PAGE manage/tax-profiles/new/": page("GET", allowed=ADMINS, other=None),
    "PAGE manage/tax-profiles/<uuid:pk>/": page("GET", lambda w, s, u: {"pk": w.tax_profile.pk}, other=None),
    "PAGE manage/tax-profiles/<uuid:pk>/edit/": page(
        "GET", lambda w, s, u: {"pk": w.tax_profile.pk}, allowed=ADMINS, other=None
    ),
    # ---------------------------------------------------------------- custodies
    "PAGE custodies/": page("GET", other=None),
    "PAGE custodies/new/": page("GET", allowed=OPERATORS, other=None),
    "PAGE custodies/export-selected/": page(
        "POST",
        other=None,
        body=lambda w, s, u: {"id": str(s.active.pk), "format": "csv"},
        note="a read sent as a POST: the ticked rows' ids; another branch's ids are left out (custodies tests)",
    ),
    "PAGE custodies/pickers/agreements/": page("GET", other=None),
    "PAGE custodies/pickers/customers/": page("GET", other=None),
    "PAGE custodies/pickers/vehicles/": page("GET", other=None),
    "PAGE custodies/<uuid:pk>/": page("GET", lambda w, s, u: {"pk": s.draft.pk}),
    "PAGE custodies/<uuid:pk>/audit/": page(
        "GET",
        lambda w, s, u: {"pk": s.active.pk},
        ok=302,
        note="without HTMX: on to the custody page's audit tab",
    ),
    "PAGE custodies/<uuid:pk>/tabs/<str:name>/": page(
        "GET",
        lambda w, s, u: {"pk": s.active.pk, "name": "audit"},
        note="a detail tab loaded when first shown: whoever may read the custody",
    ),
    "PAGE custodies/<uuid:pk>/action/<str:action>/": page(
        "POST",
        lambda w, s, u: {"pk": s.active.pk, "action": "void"},
        allowed=MANAGERS,
        ok=422,
        note="void without a reason: past the role, the form refuses",
    ),
    "PAGE custodies/<uuid:pk>/wizard/replacement/vehicles/": page(
        "GET", lambda w, s, u: {"pk": s.draft.pk}, note="a read: the cars available for the draft's period"
    ),
    "PAGE custodies/<uuid:pk>/wizard/<str:step>/": page(
        "GET", lambda w, s, u: {"pk": s.draft.pk, "step": "reason"}, allowed=OPERATORS
    ),
    # ---------------------------------------------------------------- approvals
    "PAGE approvals/": page("GET", other=None),
    "PAGE approvals/count/": page("GET", other=None),
    "PAGE approvals/approve-selected/": page(
        "POST",
        allowed=SUPERVISORS,
        other=None,
        body=lambda w, s, u: {"approval_id": str(s.approval.pk)},
        note="the role first (403); each ticked level then as a single approval (approvals tests)",
    ),
    "PAGE approvals/<uuid:pk>/replacement/": page(
        "POST",
        lambda w, s, u: {"pk": s.approval.pk},
        allowed=SUPERVISORS,
        ok=302,
        body=lambda w, s, u: {"replacement_vehicle_id": str(s.spare.pk)},
    ),
    "PAGE approvals/<uuid:pk>/<str:decision>/": page(
        "POST", lambda w, s, u: {"pk": s.approval.pk, "decision": "approve"}, allowed=SUPERVISORS, ok=302
    ),
    # ---------------------------------------------------------------- documents
    "PAGE documents/<uuid:document_id>/download/": page(
        "GET", lambda w, s, u: {"document_id": s.document.pk}
    ),
    "PAGE documents/<uuid:document_id>/delete/": page(
        "POST", lambda w, s, u: {"document_id": s.document.pk}, allowed=OPERATORS, ok=302
    ),
    "PAGE documents/custody/<uuid:custody_id>/": page("GET", custody_draft),
    "PAGE documents/custody/<uuid:custody_id>/upload/": page(
        "POST", custody_draft, allowed=OPERATORS, ok=302
    ),
    "PAGE documents/custody/<uuid:custody_id>/sign/<str:document_type>/": page(
        "GET",
        lambda w, s, u: {"custody_id": s.draft.pk, "document_type": "customer_acknowledgment"},
        allowed=OPERATORS,
    ),
    "PAGE documents/custody/<uuid:custody_id>/signing-link/": page(
        "POST", custody_draft, allowed=OPERATORS, ok=302, body={"document_type": "customer_acknowledgment"}
    ),
    "PAGE documents/custody/<uuid:custody_id>/condition/<str:stage>/": page(
        "GET", lambda w, s, u: {"custody_id": s.active.pk, "stage": "return"}
    ),
    "PAGE documents/custody/<uuid:custody_id>/condition/<str:stage>/mark/": page(
        "POST",
        lambda w, s, u: {"custody_id": s.active.pk, "stage": "return"},
        allowed=OPERATORS,
        ok=302,
        body={"zone": "rear", "damage_type": "dent", "severity": "minor"},
    ),
    "PAGE documents/condition/marks/<uuid:mark_id>/remove/": page(
        "POST", lambda w, s, u: {"mark_id": s.mark.pk}, allowed=OPERATORS, ok=302
    ),
    "PAGE documents/custody/<uuid:custody_id>/print/<str:document_type>.pdf": page(
        "GET", lambda w, s, u: {"custody_id": s.active.pk, "document_type": "handover_checklist"}
    ),
    # ---------------------------------------------------------------- audit, billing
    "PAGE audit/": page("GET", allowed=ADMINS, other=None),
    "PAGE billing/charges/": page("GET", other=None),
    "PAGE billing/charges/post/": page(
        "POST", allowed=FIN, other=None, ok=302, body=lambda w, s, u: {"charge_id": str(s.charge_draft.pk)}
    ),
    "PAGE billing/custodies/<uuid:custody_id>/tab/": page("GET", custody_active),
    "PAGE billing/custodies/<uuid:custody_id>/charges/": page(
        "POST",
        custody_active,
        allowed=OPERATORS | {F},
        ok=302,
        body={
            "charge_type": "fuel",
            "description": "Fuel",
            "quantity": "1",
            "unit_price": "20.00",
            "tax_rate": "5.00",
            "responsibility": "customer",
        },
    ),
    "PAGE billing/custodies/<uuid:custody_id>/charges/post/": page(
        "POST",
        custody_active,
        allowed=FIN,
        ok=302,
        body=lambda w, s, u: {"charge_id": str(s.charge_draft.pk)},
    ),
    "PAGE billing/custodies/<uuid:custody_id>/charges/<uuid:charge_id>/void/": page(
        "POST",
        lambda w, s, u: {"custody_id": s.active.pk, "charge_id": s.charge_draft.pk},
        allowed=FIN,
        ok=302,
        body={"reason": "Wrong"},
    ),
    "PAGE billing/custodies/<uuid:custody_id>/charges/<uuid:charge_id>/edit/": page(
        "POST",
        lambda w, s, u: {"custody_id": s.active.pk, "charge_id": s.charge_draft.pk},
        allowed=OPERATORS | {F},
        ok=302,
        body={
            "charge_type": "damage",
            "description": "Scratch, rear",
            "quantity": "1",
            "unit_price": "100.00",
            "tax_rate": "5.00",
            "responsibility": "customer",
        },
    ),
    "PAGE billing/custodies/<uuid:custody_id>/payments/": page(
        "POST",
        custody_active,
        allowed=OPERATORS | {F},
        ok=302,
        body={"kind": "payment", "amount": "10.00", "method": "cash", "payer": "customer"},
    ),
    "PAGE billing/custodies/<uuid:custody_id>/holds/<str:action>/": page(
        "POST",
        lambda w, s, u: {"custody_id": s.active.pk, "action": "record"},
        allowed=OPERATORS | {F},
        ok=302,
        body={"amount": "100.00"},
    ),
    "PAGE billing/custodies/<uuid:custody_id>/holds/<str:action>/<uuid:hold_id>/": page(
        "POST",
        lambda w, s, u: {"custody_id": s.active.pk, "action": "capture", "hold_id": s.hold.pk},
        allowed=FIN,
        ok=302,
        body={"amount": "10.00"},
    ),
    "PAGE billing/custodies/<uuid:custody_id>/close-suggestions/": page("GET", custody_active),
    "PAGE billing/custodies/<uuid:custody_id>/invoices/": page(
        "POST", custody_active, allowed={F, A}, ok=302
    ),
    "PAGE billing/invoices/<uuid:invoice_id>.pdf": page("GET", lambda w, s, u: {"invoice_id": s.invoice.pk}),
    "PAGE billing/custodies/<uuid:custody_id>/summary.pdf": page("GET", custody_active),
    # ---------------------------------------------------------------- integrations (admins)
    "PAGE integrations/": page("GET", allowed=ADMINS, other=None),
    "PAGE integrations/endpoints/<uuid:endpoint_id>/": page(
        "GET", lambda w, s, u: {"endpoint_id": w.endpoint.pk}, allowed=ADMINS, other=None
    ),
    "PAGE integrations/endpoints/<uuid:endpoint_id>/<str:action>/": page(
        "POST",
        lambda w, s, u: {"endpoint_id": w.endpoint.pk, "action": "test"},
        allowed=ADMINS,
        other=None,
        ok=302,
    ),
    "PAGE integrations/deliveries/": page("GET", allowed=ADMINS, other=None),
    "PAGE integrations/deliveries/<uuid:delivery_id>/": page(
        "GET", lambda w, s, u: {"delivery_id": w.delivery.pk}, allowed=ADMINS, other=None
    ),
    "PAGE integrations/deliveries/<uuid:delivery_id>/redeliver/": page(
        "POST", lambda w, s, u: {"delivery_id": w.delivery.pk}, allowed=ADMINS, other=None, ok=302
    ),
    # ---------------------------------------------------------------- notifications
    "PAGE notifications/": page("GET", other=None),
    "PAGE notifications/badge/": page(
        "GET", other=None, anon=286, note="htmx polling: 286 stops it when signed out"
    ),
    "PAGE notifications/read-all/": page("POST", other=None, ok=302),
    "PAGE notifications/preferences/": page("POST", other=None, ok=302),
    "PAGE notifications/<uuid:pk>/read/": page(
        "POST", lambda w, s, u: {"pk": own_notification(w, s, u)["notification_id"]}, ok=302, cells=PERSONAL
    ),
    "PAGE notifications/<uuid:pk>/open/": page(
        "GET", lambda w, s, u: {"pk": own_notification(w, s, u)["notification_id"]}, ok=302, cells=PERSONAL
    ),
    # ---------------------------------------------------------------- users (admins)
    "PAGE manage/users/": page("GET", allowed=ADMINS, other=None),
    "PAGE manage/users/invite/": page("GET", allowed=ADMINS, other=None),
    "PAGE manage/users/<uuid:user_id>/": page("GET", a_user, allowed=ADMINS, other_denied=403),
    "PAGE manage/users/<uuid:user_id>/deactivate/": page(
        "POST", a_user, allowed=ADMINS, other_denied=403, ok=302
    ),
    "PAGE manage/users/<uuid:user_id>/reactivate/": page(
        "POST", a_user, allowed=ADMINS, other_denied=403, ok=302
    ),
    "PAGE manage/users/<uuid:user_id>/reset-two-factor/": page(
        "POST", a_user, allowed=ADMINS, other_denied=403, ok=302
    ),
    "PAGE manage/users/<uuid:user_id>/reset-password/": page(
        "POST", a_user, allowed=ADMINS, other_denied=403, ok=302
    ),
    # ---------------------------------------------------------------- support and help
    "PAGE support/": page("GET", other=None),
    "PAGE support/report/": page("GET", other=None),
    "PAGE support/extras/": page("GET", other=None),
    "PAGE support/feedback/": page("POST", other=None, ok=302, body={"score": "5"}),
    "PAGE support/announcements/": page(
        "POST", allowed=ADMINS, other=None, ok=302, body={"title": "Hello", "level": "info"}
    ),
    "PAGE support/announcements/<uuid:announcement_id>/end/": page(
        "POST", lambda w, s, u: {"announcement_id": w.announcement.pk}, allowed=ADMINS, other=None, ok=302
    ),
    "PAGE support/announcements/<uuid:announcement_id>/dismiss/": page(
        "POST", lambda w, s, u: {"announcement_id": w.announcement.pk}, other=None, ok=302
    ),
    "PAGE support/<uuid:ticket_id>/": page("GET", own_ticket),
    "PAGE support/<uuid:ticket_id>/status/": page("POST", own_ticket, ok=302, body={"status": "closed"}),
    "PAGE support/<uuid:ticket_id>/assign/": page("POST", own_ticket, allowed=ADMINS, ok=302),
    "PAGE support/<uuid:ticket_id>/comments/": page("POST", own_ticket, ok=302, body={"body": "More"}),
    "PAGE support/<uuid:ticket_id>/attachment/": page(
        "GET", own_ticket, ok=404, note="the ticket has no attachment: past the checks"
    ),
    "PAGE help/": page("GET", other=None),
    "PAGE help/new/": page("GET", allowed=ADMINS, other=None),
    "PAGE help/<uuid:article_id>/edit/": page(
        "GET", lambda w, s, u: {"article_id": w.article.pk}, allowed=ADMINS, other=None
    ),
    "PAGE help/<uuid:article_id>/delete/": page(
        "POST", lambda w, s, u: {"article_id": w.article.pk}, allowed=ADMINS, other=None, ok=302
    ),
    "PAGE help/guide/<str:name>/": page("GET", lambda w, s, u: {"name": "admin"}, allowed=ADMINS, other=None),
    "PAGE help/tour/": page("POST", other=None),
    # ---------------------------------------------------------------- operations
    "PAGE manage/": page("GET", allowed=ADMINS, other=None),
    "PAGE manage/monitoring/": page("GET", allowed=ADMINS, other=None),
    "PAGE metrics": public(
        "GET", status=404, note="404 unless CUSTODY_METRICS_TOKEN is set, then its bearer"
    ),
    "PAGE manage/system/": page("GET", allowed=ADMINS, other=None),
    "PAGE manage/backups/": page("GET", allowed=ADMINS, other=None),
    "PAGE branch/switch/": page(
        "POST", lambda w, s, u: {}, ok=302, other=302, body=lambda w, s, u: {"branch_id": str(s.branch.pk)}
    ),
    "PAGE sign/<str:token>/": public("GET", lambda w, s, u: {"token": "not-a-token"}, status=410),
    "PAGE manage/settings/<slug:slug>/": page(
        "GET", lambda w, s, u: {"slug": "approval-rules"}, allowed=ADMINS, other=None
    ),
    "PAGE manage/settings/<slug:slug>/new/": page(
        "GET", lambda w, s, u: {"slug": "approval-rules"}, allowed=ADMINS, other=None
    ),
    "PAGE manage/settings/<slug:slug>/preview/": page(
        "POST", lambda w, s, u: {"slug": "approval-rules"}, allowed=ADMINS, other=None
    ),
    "PAGE manage/settings/<slug:slug>/<uuid:pk>/": page(
        "GET",
        lambda w, s, u: {"slug": "company-profile", "pk": w.users[V].pk},
        allowed=ADMINS,
        other=None,
        note="a singleton setting: the id is not looked at",
    ),
    "PAGE manage/import/": page("GET", allowed=ADMINS, other=None),
    "PAGE manage/import/<uuid:run_id>/": page(
        "GET",
        lambda w, s, u: {"run_id": w.users[V].pk},
        allowed=ADMINS,
        other=None,
        ok=404,
        note="no such import run: the role is refused first, the admin finds nothing",
    ),
    "PAGE manage/import/<uuid:run_id>/progress/": page(
        "GET",
        lambda w, s, u: {"run_id": w.users[V].pk},
        allowed=ADMINS,
        other=None,
        ok=404,
        note="no such import run: the role is refused first, the admin finds nothing",
    ),
    "PAGE manage/import/<uuid:run_id>/rejects.csv": page(
        "GET",
        lambda w, s, u: {"run_id": w.users[V].pk},
        allowed=ADMINS,
        other=None,
        ok=404,
        note="no such import run: the role is refused first, the admin finds nothing",
    ),
    "PAGE notifications/deliveries/": page("GET", allowed=ADMINS, other=None),
    "PAGE reports/exports/": page("GET", other=None, note="each person's own export jobs"),
    "PAGE reports/exports/<uuid:pk>/": page(
        "GET",
        lambda w, s, u: {"pk": w.users[V].pk},
        other=None,
        ok=404,
        note="a job that is not the user's (export jobs are personal): not found for every role",
    ),
    "PAGE reports/exports/<uuid:pk>/download/": page(
        "GET",
        lambda w, s, u: {"pk": w.users[V].pk},
        other=None,
        ok=404,
        note="a job that is not the user's (export jobs are personal): not found for every role",
    ),
    "PAGE healthz": public("GET"),
    "PAGE api/": public("GET", status=404, note="Ninja's root: nothing there"),
    "PAGE api/docs": public("GET"),
    "PAGE api/openapi.json": public("GET"),
    "PAGE readyz": public("GET"),
    # ---------------------------------------------------------------- quotes
    "PAGE quotes/": page("GET", other=None),
    "PAGE quotes/new/": page("GET", allowed=OPERATORS | {F}, other=None),
    "PAGE quotes/<uuid:pk>/": page("GET", lambda w, s, u: {"pk": s.quote.pk}),
    "PAGE quotes/<uuid:pk>/preview/": page(
        "POST",
        lambda w, s, u: {"pk": s.quote.pk},
        note="a read: the totals of the lines posted, nothing saved",
    ),
    "PAGE quotes/<uuid:pk>/pdf/<str:language>/": page(
        "GET", lambda w, s, u: {"pk": s.quote.pk, "language": "en"}
    ),
    "PAGE quotes/<uuid:pk>/signature.png": page(
        "GET", lambda w, s, u: {"pk": s.quote.pk}, ok=404, note="no signature yet: past the checks"
    ),
    "PAGE quotes/<uuid:pk>/cost-sheets/new/": page(
        "POST", lambda w, s, u: {"pk": s.quote.pk}, allowed=OPERATORS | {F}, ok=302
    ),
    "PAGE quotes/<uuid:pk>/lines/<uuid:line_id>/assign/": page(
        "POST", lambda w, s, u: {"pk": s.quote.pk, "line_id": s.quote_line.pk}, allowed=MANAGERS, ok=302
    ),
    "PAGE quotes/<uuid:pk>/convert/": page(
        "POST", lambda w, s, u: {"pk": s.quote.pk}, allowed=MANAGERS, ok=302
    ),
    "PAGE quotes/<uuid:pk>/<str:action>/": page(
        "POST",
        lambda w, s, u: {"pk": s.quote.pk, "action": "approve"},
        allowed=FIN,
        ok=302,
        note="a draft: past the role, the state is refused with a message",
    ),
    "PAGE quotes/cost-sheets/<uuid:pk>/preview/": page(
        "POST", lambda w, s, u: {"pk": s.sheet.pk}, note="a read: the sheet priced, nothing saved"
    ),
    "PAGE quotes/cost-sheets/<uuid:pk>/save/": page(
        "POST", lambda w, s, u: {"pk": s.sheet.pk}, allowed=OPERATORS | {F}, ok=302
    ),
    "PAGE quotes/cost-sheets/<uuid:pk>/<str:action>/": page(
        "POST",
        lambda w, s, u: {"pk": s.sheet.pk, "action": "approve"},
        allowed=FIN,
        ok=302,
        note="a draft: past the role, the state is refused with a message",
    ),
    "PAGE q/<str:token>": public("GET", lambda w, s, u: {"token": "not-a-token"}, status=404),
    "PAGE q/<str:token>/<str:decision>": public(
        "POST", lambda w, s, u: {"token": "not-a-token", "decision": "accept"}, status=404
    ),
}


# --------------------------------------------------------------------------------------------------
# Making the requests
# --------------------------------------------------------------------------------------------------

_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _url(route: str, params: dict) -> str:
    return "/" + _PARAM.sub(lambda m: str(params[m.group(1)]), route.split(" ", 1)[1])


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The records, written once for the module inside a transaction rolled back at the end."""
    import weasyprint

    real_write_pdf = weasyprint.HTML.write_pdf
    weasyprint.HTML.write_pdf = lambda self, *a, **k: b"%PDF-1.4 stub"  # access is what is tested here
    media_root = tmp_path_factory.mktemp("access-media")
    overrides = override_settings(
        MEDIA_ROOT=media_root,
        STORAGES={**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}},
        CUSTODY_WEBHOOK_ALLOW_PRIVATE="1",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        CUSTODY_ONBOARDING_TOUR=False,
        CUSTODY_METRICS_FLUSH_IN_REQUEST=False,
    )
    overrides.enable()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            w = access_world.build()
            w.media_root = media_root
            w.bearer = {}
            w.session = {}
            w.clients = {}
            from accounts.models import ApiToken

            for role, user in w.users.items():
                _token, raw = ApiToken.issue(user, name="table")
                w.bearer[role] = f"Bearer {raw}"
                client = Client()
                client.force_login(user)
                w.session[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield w
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            overrides.disable()
            weasyprint.HTML.write_pdf = real_write_pdf


def _request(w, route: str, row: Row, role: str | None, side: str):
    user = w.users[role] if role else None
    s = w.own if side == "own" else w.other
    params = row.path(w, s, user or w.users[V]) if row.path else {}
    url = _url(route, params)
    body = row.body(w, s, user or w.users[V]) if callable(row.body) else row.body
    # One client per role, reused: a new Client loads every middleware again (WhiteNoise scans the
    # static files), which made each request ten times slower. Cookies are reset every time.
    client = w.clients.setdefault(role, Client())
    client.cookies.clear()
    headers = {}
    if route.startswith("PAGE"):
        if role:
            client.cookies[settings.SESSION_COOKIE_NAME] = w.session[role]
    elif role:
        headers["HTTP_AUTHORIZATION"] = w.bearer[role]
    method = row.method.lower()
    if body == "multipart":
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("r.pdf", access_world.PDF, content_type="application/pdf")
        return client.post(url, {"file": upload, "document_type": "other"}, **headers)
    if route.startswith("PAGE") or method == "get":
        return getattr(client, method)(url, body or {}, **headers)
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", **headers)


def _cells(row: Row):
    for role in ROLES:
        for side in SIDES if row.other is not None or any(k[1] == "other" for k in row.cells) else ("own",):
            yield role, side
    yield None, "own"


def table_size() -> tuple[int, int]:
    """(routes, cells): every row's roles × cases plus the anonymous request."""
    return len(TABLE), sum(1 for row in TABLE.values() for _ in _cells(row))


ROUTES = application_routes()
DISCOVER = os.environ.get("ACCESS_TABLE_DISCOVER")  # a file: write every answer there (to review a row)


@pytest.mark.parametrize("route", ROUTES)
def test_each_route_answers_each_role_as_the_table_says(route, world, db, settings):
    settings.MEDIA_ROOT = world.media_root  # the files written with the records
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "1"
    row = TABLE.get(route)
    if row is None and DISCOVER:
        row = page("GET") if route.startswith("PAGE") else api(route.split()[0])
    assert row is not None, f"new route without a row in tests/test_access_control.py: {route}"
    wrong = []
    for role, side in _cells(row):
        expected = row.expected(role, side) if role else row.anon
        savepoint = transaction.savepoint()
        try:
            response = _request(world, route, row, role, side)
        finally:
            transaction.savepoint_rollback(savepoint)
        if DISCOVER:
            with open(DISCOVER, "a") as out:
                out.write(json.dumps([route, role or ANON, side, expected, response.status_code]) + "\n")
        if response.status_code != expected:
            detail = response.content[:200] if response.status_code >= 400 else b""
            wrong.append(f"{role or ANON}/{side}: expected {expected}, got {response.status_code} {detail!r}")
    assert DISCOVER or not wrong, f"{route}:\n  " + "\n  ".join(wrong)


def test_every_row_is_a_route_of_the_application():
    stale = sorted(set(TABLE) - set(ROUTES))
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_the_table_size_is_recorded():
    routes, cells = table_size()
    print(f"access-control table: {routes} routes, {cells} cells (6 roles × own/other branch + anonymous)")
    assert routes == len(ROUTES)
