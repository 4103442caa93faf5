"""Reference-data pages: one list/detail/form pattern configured per resource.

The pattern keeps every reference list identical for users (search, filters, sort, pages)
and for engineers (one place to change).
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ValidationFailed
from core.exports import ExportColumn, export_list
from core.pagination import paginate

from . import forms, selectors, services
from .choices import (
    AGREEMENT_STATUS_COLOURS,
    VEHICLE_STATUS_COLOURS,
    AgreementStatus,
    CustomerKind,
    VehicleStatus,
)
from .models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass


@dataclass
class Column:
    label: Any
    attr: str
    sort: str = ""
    link: bool = False
    badge: dict | None = None  # value → colour
    css: str = ""
    number: bool = False  # thousands separators, right-aligned


@dataclass
class Filter:
    name: str
    label: Any
    choices: Any  # list[(value, label)] or callable(user) -> list
    lookup: str = ""

    def options(self, user):
        return self.choices(user) if callable(self.choices) else self.choices


@dataclass
class Resource:
    slug: str
    model: type
    title: Any
    singular: Any
    form: type
    columns: list[Column]
    listing: selectors.Listing  # rows, search, orderings: the same as the API's
    filters: list[Filter] = field(default_factory=list)
    # The detail page shows the fields the form edits (one list, in the form's Meta).
    detail_fields: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.detail_fields:
            self.detail_fields = list(self.form._meta.fields)

    form_kwargs: Any = None  # callable(user) -> dict

    def name(self, suffix):
        return f"fleet:{self.slug}_{suffix}"

    def queryset(self, user, q: str = ""):
        return self.listing.for_user(user, q)

    @property
    def orderings(self):
        return self.listing.orderings

    @property
    def default_ordering(self):
        return self.listing.default_ordering


def _branch_choices(user):
    return [(str(b.id), str(b)) for b in selectors.branches_for(user)]


def _class_choices(user):
    return [(str(c.id), c.code) for c in selectors.vehicle_classes()]


RESOURCES: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    RESOURCES[resource.slug] = resource
    return resource


register(
    Resource(
        slug="vehicle",
        model=Vehicle,
        title=gettext_lazy("Vehicles"),
        singular=gettext_lazy("vehicle"),
        form=forms.VehicleForm,
        columns=[
            Column(gettext_lazy("Plate"), "plate", "plate", link=True),
            Column(gettext_lazy("Make / model"), "display_model", "make"),
            Column(gettext_lazy("Year"), "year", "year", css="hide-sm"),
            Column(gettext_lazy("Class"), "vehicle_class.code", "vehicle_class__code", css="hide-sm"),
            Column(gettext_lazy("Branch"), "branch.code", "branch__code", css="hide-sm"),
            Column(gettext_lazy("Status"), "status", "status", badge=VEHICLE_STATUS_COLOURS),
            Column(
                gettext_lazy("Odometer km"), "odometer_km", "odometer_km", css="hide-sm text-end", number=True
            ),
        ],
        listing=selectors.LISTINGS["vehicle"],
        filters=[
            Filter("status", gettext_lazy("Status"), VehicleStatus.choices, "status"),
            Filter("branch_id", gettext_lazy("Branch"), _branch_choices, "branch_id"),
            Filter("vehicle_class_id", gettext_lazy("Class"), _class_choices, "vehicle_class_id"),
        ],
        form_kwargs=lambda user: {"branches": selectors.branches_for(user)},
    )
)

register(
    Resource(
        slug="customer",
        model=Customer,
        title=gettext_lazy("Customers"),
        singular=gettext_lazy("customer"),
        form=forms.CustomerForm,
        columns=[
            Column(gettext_lazy("Customer no."), "customer_no", "customer_no", link=True),
            Column(gettext_lazy("Name"), "full_name", "full_name"),
            Column(gettext_lazy("Kind"), "kind", "kind"),
            Column(gettext_lazy("Phone"), "phone", "phone"),
            Column(gettext_lazy("E-mail"), "email", "email", css="hide-sm"),
            Column(gettext_lazy("Active"), "active", "active"),
        ],
        listing=selectors.LISTINGS["customer"],
        filters=[
            Filter("kind", gettext_lazy("Kind"), CustomerKind.choices, "kind"),
            Filter(
                "active",
                gettext_lazy("Active"),
                [("true", gettext_lazy("Yes")), ("false", gettext_lazy("No"))],
                "active",
            ),
        ],
    )
)

register(
    Resource(
        slug="agreement",
        model=RentalAgreement,
        title=gettext_lazy("Rental agreements"),
        singular=gettext_lazy("agreement"),
        form=forms.RentalAgreementForm,
        columns=[
            Column(gettext_lazy("Agreement no."), "agreement_no", "agreement_no", link=True),
            Column(gettext_lazy("Customer"), "customer.full_name", "customer__full_name", css="hide-sm"),
            Column(gettext_lazy("Vehicle"), "vehicle.plate", "vehicle__plate"),
            Column(gettext_lazy("Branch"), "branch.code", "branch__code", css="hide-sm"),
            Column(gettext_lazy("Start"), "start_at", "start_at", css="hide-sm"),
            Column(gettext_lazy("End"), "end_at", "end_at", css="hide-sm"),
            Column(gettext_lazy("Daily rate"), "daily_rate", "daily_rate", css="hide-sm"),
            Column(gettext_lazy("Status"), "status", "status", badge=AGREEMENT_STATUS_COLOURS),
        ],
        listing=selectors.LISTINGS["agreement"],
        filters=[
            Filter("status", gettext_lazy("Status"), AgreementStatus.choices, "status"),
            Filter("branch_id", gettext_lazy("Branch"), _branch_choices, "branch_id"),
        ],
        form_kwargs=lambda user: {
            "branches": selectors.branches_for(user),
            "vehicles": selectors.vehicles_for(user),
        },
    )
)

register(
    Resource(
        slug="branch",
        model=Branch,
        title=gettext_lazy("Branches"),
        singular=gettext_lazy("branch"),
        form=forms.BranchForm,
        columns=[
            Column(gettext_lazy("Code"), "code", "code", link=True),
            Column(gettext_lazy("Name"), "name", "name"),
            Column(gettext_lazy("City"), "city", "city"),
            Column(gettext_lazy("Timezone"), "timezone", "timezone", css="hide-sm"),
            Column(gettext_lazy("Active"), "active", "active"),
        ],
        listing=selectors.LISTINGS["branch"],
    )
)

register(
    Resource(
        slug="vehicle_class",
        model=VehicleClass,
        title=gettext_lazy("Vehicle classes"),
        singular=gettext_lazy("vehicle class"),
        form=forms.VehicleClassForm,
        columns=[
            Column(gettext_lazy("Code"), "code", "code", link=True),
            Column(gettext_lazy("Name"), "name", "name"),
            Column(gettext_lazy("Daily rate"), "daily_rate", "daily_rate"),
            Column(gettext_lazy("Monthly rate"), "monthly_rate", "monthly_rate"),
        ],
        listing=selectors.LISTINGS["vehicle_class"],
    )
)

register(
    Resource(
        slug="special_rate_code",
        model=SpecialRateCode,
        title=gettext_lazy("Special rate codes"),
        singular=gettext_lazy("special rate code"),
        form=forms.SpecialRateCodeForm,
        columns=[
            Column(gettext_lazy("Code"), "code", "code", link=True),
            Column(gettext_lazy("Description"), "description", "description"),
            Column(gettext_lazy("Daily rate"), "daily_rate", "daily_rate"),
            Column(gettext_lazy("Active"), "active", "active"),
        ],
        listing=selectors.LISTINGS["special_rate_code"],
    )
)

register(
    Resource(
        slug="tax_profile",
        model=TaxProfile,
        title=gettext_lazy("Tax profiles"),
        singular=gettext_lazy("tax profile"),
        form=forms.TaxProfileForm,
        columns=[
            Column(gettext_lazy("Name"), "name", "name", link=True),
            Column(gettext_lazy("Rate %"), "rate_percent", "rate_percent"),
            Column(gettext_lazy("Default"), "is_default", "is_default"),
        ],
        listing=selectors.LISTINGS["tax_profile"],
    )
)


def _resolve(obj, attr: str):
    value = obj
    for part in attr.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _display(obj, attr: str):
    """A cell's text: choice labels for choice fields, the raw value otherwise."""
    head, _sep, last = attr.rpartition(".")
    owner = _resolve(obj, head) if head else obj
    if owner is not None and hasattr(owner, f"get_{last}_display"):
        return getattr(owner, f"get_{last}_display")()
    return _resolve(obj, attr)


def _queryset(resource: Resource, request):
    qs = resource.queryset(request.user, request.GET.get("q", "").strip())
    # The header's branch switcher narrows branch-bound lists.
    branch_field = "branch_id" if any(f.name == "branch" for f in resource.model._meta.fields) else None
    if branch_field and request.session.get("branch_id") and "branch_id" not in request.GET:
        qs = qs.filter(branch_id=request.session["branch_id"])
    active_filters = []
    for flt in resource.filters:
        value = request.GET.get(flt.name, "")
        if not value:
            continue
        valid = {str(v) for v, _label in flt.options(request.user)}
        if value not in valid:
            raise ValidationFailed(_("Unknown filter value."), {flt.name: [_("Unknown value.")]})
        qs = qs.filter(**{flt.lookup: value == "true" if value in ("true", "false") else value})
        active_filters.append(flt.name)
    return qs


def _export_columns(resource: Resource) -> list[ExportColumn]:
    """The list's own columns (labels for choices, numbers as numbers): the export is the screen."""

    def value(obj, col):
        if col.attr == "display_model":
            return f"{obj.make} {obj.model}"
        return _display(obj, col.attr)

    return [
        ExportColumn(col.label, lambda obj, col=col: value(obj, col), "number" if col.number else "text")
        for col in resource.columns
    ]


def export_columns(slug: str) -> list[ExportColumn]:
    """The export columns of a registered list, by slug (how the worker finds them for a large export)."""
    return _export_columns(RESOURCES[slug])


@login_required
def list_view(request, resource: Resource):
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        try:
            qs = _queryset(resource, request)
        except ValidationFailed as exc:
            return render(
                request, "fleet/list.html", {"resource": resource, "error": exc.message}, status=400
            )
        ordering = resource.default_ordering
        return export_list(
            request,
            qs.order_by(ordering),
            "fleet.views.export_columns",
            resource.slug + "s",
            fmt,
            resource.slug,
        )
    try:
        qs = _queryset(resource, request)
        page = paginate(
            qs,
            params=request.GET,
            path=request.path,
            allowed_orderings=resource.orderings,
            default_ordering=resource.default_ordering,
        )
        error = None
    except ValidationFailed as exc:
        page, error = None, exc.message
    rows = []
    if page:
        for obj in page.items:
            cells = []
            for col in resource.columns:
                raw = _resolve(obj, col.attr) if col.attr != "display_model" else f"{obj.make} {obj.model}"
                cells.append(
                    {
                        "col": col,
                        "value": _display(obj, col.attr) if col.attr != "display_model" else raw,
                        "colour": (col.badge or {}).get(raw),
                    }
                )
            rows.append({"obj": obj, "cells": cells, "url": reverse(resource.name("detail"), args=[obj.pk])})
    context = {
        "resource": resource,
        "page": page,
        "rows": rows,
        "error": error,
        "q": request.GET.get("q", ""),
        "filters": [
            {"f": f, "options": f.options(request.user), "value": request.GET.get(f.name, "")}
            for f in resource.filters
        ],
        "may_create": services.may_create(request.user, resource.model),
        "create_url": reverse(resource.name("create")),
    }
    template = (
        "fleet/_list_table.html"
        if request.htmx and request.htmx.target == "list-results"
        else "fleet/list.html"
    )
    return render(request, template, context, status=400 if error else 200)


def _get_object(resource: Resource, request, pk):
    qs = resource.queryset(request.user, "")
    return get_object_or_404(qs, pk=pk)


@login_required
def detail_view(request, resource: Resource, pk):
    obj = _get_object(resource, request, pk)
    fields = []
    for name in resource.detail_fields:
        model_field = resource.model._meta.get_field(name)
        value = _display(obj, name)
        # Only text goes through linebreaksbr: it would turn dates and amounts into raw strings
        # (UTC with microseconds) before the template localizes them.
        fields.append((model_field.verbose_name, value, isinstance(value, str)))
    return render(
        request,
        "fleet/detail.html",
        {
            "resource": resource,
            "obj": obj,
            "fields": fields,
            "may_edit": services.may_edit(request.user, resource.model),
            "edit_url": reverse(resource.name("edit"), args=[obj.pk]),
            "list_url": reverse(resource.name("list")),
        },
    )


@login_required
def form_view(request, resource: Resource, pk=None):
    obj = _get_object(resource, request, pk) if pk else resource.model()
    allowed = (
        services.may_edit(request.user, resource.model)
        if pk
        else services.may_create(request.user, resource.model)
    )
    if not allowed:
        raise PermissionDenied
    kwargs = resource.form_kwargs(request.user) if resource.form_kwargs else {}
    form = resource.form(request.POST or None, instance=obj, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_record(request.user, form.instance)
        except DjangoValidationError as exc:
            for field_name, errors in exc.message_dict.items():
                form.add_error(field_name if field_name in form.fields else None, errors)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": saved})
            return redirect(resource.name("detail"), pk=saved.pk)
    return render(
        request,
        "fleet/form.html",
        {
            "resource": resource,
            "form": form,
            "obj": obj if pk else None,
            "cancel_url": reverse(resource.name("detail"), args=[pk])
            if pk
            else reverse(resource.name("list")),
        },
        status=400 if request.method == "POST" else 200,
    )


def _urls_for(resource: Resource):
    slug_path = {
        "vehicle_class": "vehicle-classes",
        "special_rate_code": "special-rate-codes",
        "tax_profile": "tax-profiles",
        "branch": "branches",
        "agreement": "agreements",
    }.get(resource.slug, f"{resource.slug}s")
    base = (
        f"{slug_path}/" if resource.slug in ("vehicle", "customer", "agreement") else f"manage/{slug_path}/"
    )
    return [
        path(base, login_required(lambda r, res=resource: list_view(r, res)), name=f"{resource.slug}_list"),
        path(
            f"{base}new/",
            login_required(lambda r, res=resource: form_view(r, res)),
            name=f"{resource.slug}_create",
        ),
        path(
            f"{base}<uuid:pk>/",
            login_required(lambda r, pk, res=resource: detail_view(r, res, pk)),
            name=f"{resource.slug}_detail",
        ),
        path(
            f"{base}<uuid:pk>/edit/",
            login_required(lambda r, pk, res=resource: form_view(r, res, pk)),
            name=f"{resource.slug}_edit",
        ),
    ]


def urlpatterns_for_all():
    patterns = []
    for resource in RESOURCES.values():
        patterns += _urls_for(resource)
    return patterns
