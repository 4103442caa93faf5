"""In-product configuration pages (issue #10 §5): one list + one form pattern, declared per setting.

Each `Setting` says what to list, which form edits it and which service of the owning app saves it (the
service checks the role, validates, audits). The pages add what every setting gets the same way:
admins only, the app's look, errors on the form (never a 500), and an optimistic lock: the form carries
a fingerprint of the row as it was shown, and a save over a row someone changed meanwhile is refused.
The fleet reference lists (branches, vehicle classes, rate codes, tax profiles) keep their own pages
(search, sort, export); the navigation lists them with these.
"""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import permissions
from audit import services as audit
from core.errors import DomainError


@dataclass
class Setting:
    slug: str
    title: Any
    singular: Any
    help: Any
    form: type[forms.BaseForm]
    columns: list[tuple[Any, Callable[[Any], Any]]]
    rows: Callable[[], Iterable]  # what the list shows
    get: Callable[[Any], Any]  # pk → the row the form edits (raises LookupError when missing)
    store: Callable[
        [Any, Any, dict, Any], Any
    ]  # the app's service: (user, row or None, data, files) → saved row
    initial: Callable[[Any], dict] | None = None  # default: the row's values of the form's fields
    form_kwargs: Callable[[], dict] = dict
    data: Callable[[forms.BaseForm], dict] = lambda form: dict(form.cleaned_data)
    fingerprint_of: Callable[[Any], Any] = lambda row: row  # the model row whose state is locked
    singleton: bool = False  # one row: the list is the form (company profile, cost defaults)
    creatable: bool = True
    preview: Callable | None = None  # (request, form, row) → context for the effect preview
    form_template: str = "ops/settings/_fields.html"
    label: Callable[[Any], str] = str
    extra: dict = field(default_factory=dict)


SETTINGS: dict[str, Setting] = {}
# The fleet's reference pages, listed in the same navigation (url name, title).
FLEET_PAGES = [
    ("fleet:branch_list", gettext_lazy("Branches")),
    ("fleet:vehicle_class_list", gettext_lazy("Vehicle classes")),
    ("fleet:special_rate_code_list", gettext_lazy("Special rate codes")),
    ("fleet:tax_profile_list", gettext_lazy("Tax profiles")),
]


def register(setting: Setting) -> Setting:
    SETTINGS[setting.slug] = setting
    return setting


def fingerprint(row) -> str:
    """What the row looked like when the form was shown (every stored field, hashed)."""
    if row is None or getattr(row, "pk", None) is None or row._state.adding:
        return ""
    fresh = type(row).objects.filter(pk=row.pk).first()
    if fresh is None:
        return ""
    state = audit.snapshot(fresh)
    state.pop("updated_at", None)
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _require_admin(request) -> None:
    if not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied


def _setting(slug: str) -> Setting:
    try:
        return SETTINGS[slug]
    except KeyError as exc:
        raise Http404 from exc


def _row(setting: Setting, pk):
    try:
        return setting.get(pk)
    except (LookupError, ValueError, DjangoValidationError) as exc:  # missing, or not an id at all
        raise Http404 from exc


def nav_context(current: str = "") -> dict:
    return {
        "settings_nav": [
            (reverse("settings:list", args=[s.slug]), s.title, s.slug == current) for s in SETTINGS.values()
        ],
        "fleet_nav": [(reverse(name), title) for name, title in FLEET_PAGES],
    }


@login_required
def settings_list(request, slug):
    _require_admin(request)
    setting = _setting(slug)
    if setting.singleton:
        return settings_form(request, slug)
    rows = [
        {
            "row": row,
            "cells": [getter(row) for _label, getter in setting.columns],
            "url": reverse("settings:edit", args=[slug, row.pk]),
        }
        for row in setting.rows()
    ]
    return render(
        request,
        "ops/settings/list.html",
        {
            "setting": setting,
            "rows": rows,
            "headers": [label for label, _g in setting.columns],
            **nav_context(slug),
        },
    )


def _apply_errors(form, exc) -> None:
    details = exc.message_dict if isinstance(exc, DjangoValidationError) else exc.details
    placed = False
    for name, errors in (details or {}).items() if isinstance(details, dict) else []:
        target = name.removesuffix("_id") if name.removesuffix("_id") in form.fields else name
        for error in errors if isinstance(errors, list | tuple) else [errors]:
            if target in form.fields and not form.fields[target].widget.is_hidden:
                form.add_error(target, str(error))
                placed = True
            elif isinstance(error, str):
                form.add_error(None, error)
                placed = True
    if not placed:
        form.add_error(None, exc.message if isinstance(exc, DomainError) else "; ".join(exc.messages))


@login_required
def settings_form(request, slug, pk=None):
    _require_admin(request)
    setting = _setting(slug)
    row = None
    if setting.singleton:
        row = setting.get(None)
    elif pk is not None:
        row = _row(setting, pk)
    elif not setting.creatable:
        raise Http404
    locked = setting.fingerprint_of(row) if row is not None else None
    form = setting.form(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial=_initial(setting, row),
        **setting.form_kwargs(),
    )
    status = 200
    if request.method == "POST":
        shown = request.POST.get("_fingerprint", "")
        if form.is_valid():
            data = setting.data(form)
        if form.is_valid():
            try:
                with transaction.atomic():
                    if locked is not None and shown != fingerprint(locked):
                        raise _Stale
                    saved = setting.store(request.user, row, data, request.FILES)
            except _Stale:
                form.add_error(
                    None,
                    _(
                        "Someone else changed this meanwhile; nothing was saved. Reload the page to see their change."
                    ),
                )
                status = 409
            except (DomainError, DjangoValidationError) as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Saved: %(name)s.") % {"name": setting.label(saved)})
                return redirect("settings:list", slug)
        if status == 200:
            status = 422
    context = {
        "setting": setting,
        "form": form,
        "row": row,
        "fingerprint": request.POST.get("_fingerprint") if request.method == "POST" else fingerprint(locked),
        "preview_url": reverse("settings:preview", args=[slug]) if setting.preview else "",
        **nav_context(slug),
    }
    return render(request, "ops/settings/form.html", context, status=status)


class _Stale(Exception):
    pass


@login_required
def settings_preview(request, slug):
    """The effect of the form as it is now (unsaved): a read, so it works during maintenance too."""
    _require_admin(request)
    setting = _setting(slug)
    if setting.preview is None:
        raise Http404
    row = None
    if request.GET.get("_pk"):
        row = _row(setting, request.GET["_pk"])
    form = setting.form(request.GET, **setting.form_kwargs())
    context = {"setting": setting, "form": form, "errors": None}
    if form.is_valid():
        data = setting.data(form)
        if form.is_valid():
            try:
                context.update(setting.preview(request, data, row))
            except DomainError as exc:
                context["errors"] = exc.messages()
        else:
            context["errors"] = [e for errors in form.errors.values() for e in errors]
    else:
        context["errors"] = [
            f"{form[name].label if name in form.fields else ''}: {e}".lstrip(": ")
            for name, errors in form.errors.items()
            for e in errors
        ]
    return render(request, setting.extra.get("preview_template", "ops/settings/_preview.html"), context)


app_name = "settings"
urlpatterns = [
    path("<slug:slug>/", settings_list, name="list"),
    path("<slug:slug>/new/", settings_form, name="new"),
    path("<slug:slug>/preview/", settings_preview, name="preview"),
    path("<slug:slug>/<uuid:pk>/", settings_form, name="edit"),
]


# ---- the settings ---------------------------------------------------------------------------------------


def _initial(setting: Setting, row) -> dict | None:
    if row is None:
        return None
    if setting.initial is not None:
        return setting.initial(row)
    return model_to_dict(row, fields=list(setting.form.base_fields))


def _plain_form(model, names: list[str], name: str, **extra_fields) -> type[forms.Form]:
    """A plain form with the model's field types, labels and validators (the service validates the rest;
    a ModelForm would check uniqueness against an unbound row)."""
    return type(name, (forms.Form,), {**forms.fields_for_model(model, fields=names), **extra_fields})


def _money(value) -> str:
    from django.utils.formats import number_format

    return "" if value is None else number_format(value, 2, force_grouping=True)


def _yes(value) -> str:
    return str(_("yes") if value else _("no"))


def _choice_labels(choices, values) -> str:
    labels = dict(choices)
    return ", ".join(str(labels.get(v, v)) for v in values) if values else str(_("any"))


def _declare() -> None:
    from approvals import services as approval_services
    from approvals.forms import ApprovalRuleForm
    from approvals.models import ApprovalRule
    from custodies import services as custody_services
    from custodies.choices import ReasonCode
    from custodies.models import SlaPolicy
    from documents import services as document_services
    from documents.choices import DocumentType, RuleStage
    from documents.models import DocumentRule
    from fleet import services as fleet_services
    from fleet.models import Branch, CompanyProfile, VehicleClass
    from quotes import services as quote_services
    from quotes.models import CostDefaults, CostElement

    def get_model(model, **related):
        def get(pk):
            row = model.objects.filter(pk=pk).select_related(*related.get("select", ())).first()
            if row is None:
                raise LookupError(pk)
            return row

        return get

    # Approval rules: conditions and levels, with the effect previewed before saving.
    def rule_preview(request, data, row):
        draft = approval_services.build_rule(data, row)
        preview = approval_services.preview_rule(request.user, draft)
        return {
            "draft": draft,
            "preview": preview,
            "draft_needs": approval_services.describe_levels(
                approval_services.RuleMatch(rule=draft, auto_approve=draft.auto_approve, levels=draft.levels)
            ),
        }

    register(
        Setting(
            slug="approval-rules",
            title=gettext_lazy("Approval rules"),
            singular=gettext_lazy("approval rule"),
            help=gettext_lazy(
                "Rules run in order; the first active rule whose conditions all match decides which levels a "
                "submitted custody needs (or approves it automatically). Empty conditions match anything. "
                "A custody no rule matches needs one supervisor level."
            ),
            form=ApprovalRuleForm,
            columns=[
                (gettext_lazy("Order"), lambda r: r.priority),
                (gettext_lazy("Name"), lambda r: r.name),
                (gettext_lazy("Active"), lambda r: _yes(r.active)),
                (gettext_lazy("Reasons"), lambda r: _choice_labels(ReasonCode.choices, r.reason_codes)),
                (gettext_lazy("Branches"), lambda r: ", ".join(r.branch_codes) or _("any")),
                (
                    gettext_lazy("Damage hold"),
                    lambda r: (
                        " – ".join(x for x in (_money(r.min_damage_hold), _money(r.max_damage_hold)) if x)
                        or _("any")
                    ),
                ),
                (
                    gettext_lazy("Needs"),
                    lambda r: approval_services.describe_levels(
                        approval_services.RuleMatch(rule=r, auto_approve=r.auto_approve, levels=r.levels)
                    ),
                ),
            ],
            rows=lambda: ApprovalRule.objects.order_by("priority", "name"),
            get=get_model(ApprovalRule),
            store=lambda user, row, data, files: approval_services.save_rule(user, row, data),
            initial=ApprovalRuleForm.initial_for,
            form_kwargs=lambda: {"branches": Branch.objects.order_by("code")},
            data=lambda form: form.to_data(),
            preview=rule_preview,
            form_template="ops/settings/_approval_rule_fields.html",
            extra={"preview_template": "ops/settings/_approval_preview.html"},
        )
    )

    # SLA policies: per reason, optionally overridden per branch.
    sla_form = _plain_form(
        SlaPolicy,
        ["reason_code", "branch", "approve_within_hours", "handover_within_hours", "close_within_hours"],
        "SlaPolicyForm",
    )
    register(
        Setting(
            slug="sla-policies",
            title=gettext_lazy("SLA policies"),
            singular=gettext_lazy("SLA policy"),
            help=gettext_lazy(
                "Hours allowed per target for each reason; a branch may override its reason's policy. "
                "New clocks use the change; clocks already running keep their due time."
            ),
            form=sla_form,
            columns=[
                (gettext_lazy("Reason"), lambda p: p.get_reason_code_display()),
                (gettext_lazy("Branch"), lambda p: p.branch.code if p.branch_id else _("all branches")),
                (gettext_lazy("Approve within (h)"), lambda p: p.approve_within_hours),
                (gettext_lazy("Hand over within (h)"), lambda p: p.handover_within_hours),
                (gettext_lazy("Close within (h)"), lambda p: p.close_within_hours),
            ],
            rows=lambda: SlaPolicy.objects.select_related("branch").order_by("reason_code", "branch__code"),
            get=get_model(SlaPolicy, select=["branch"]),
            store=lambda user, row, data, files: custody_services.save_sla_policy(user, row, data),
            label=str,
        )
    )

    # Required documents by reason and stage.
    class DocumentRuleForm(forms.Form):
        reason_code = forms.ChoiceField(
            label=gettext_lazy("Reason"),
            required=False,
            choices=[("", gettext_lazy("Every reason")), *ReasonCode.choices],
        )
        stage = forms.ChoiceField(label=gettext_lazy("Stage"), choices=RuleStage.choices)
        document_type = forms.ChoiceField(label=gettext_lazy("Document"), choices=DocumentType.choices)
        active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    register(
        Setting(
            slug="document-rules",
            title=gettext_lazy("Required documents"),
            singular=gettext_lazy("document rule"),
            help=gettext_lazy(
                "Which documents a custody needs before it is submitted, handed over or closed. Switch a "
                "rule off rather than deleting it; the audit log keeps every change."
            ),
            form=DocumentRuleForm,
            columns=[
                (gettext_lazy("Stage"), lambda r: r.get_stage_display()),
                (
                    gettext_lazy("Reason"),
                    lambda r: dict(ReasonCode.choices).get(r.reason_code, _("every reason")),
                ),
                (gettext_lazy("Document"), lambda r: r.get_document_type_display()),
                (gettext_lazy("Active"), lambda r: _yes(r.active)),
            ],
            rows=lambda: DocumentRule.objects.order_by("stage", "reason_code", "document_type"),
            get=get_model(DocumentRule),
            store=lambda user, row, data, files: document_services.save_document_rule(user, row, data),
        )
    )

    # Company profile: the seller printed on invoices and forms.
    company_form = _plain_form(
        CompanyProfile,
        list(fleet_services.COMPANY_FIELDS),
        "CompanyProfileForm",
        logo_file=forms.FileField(
            label=gettext_lazy("Logo"),
            required=False,
            help_text=gettext_lazy("PNG or JPEG, at most 512 KB; printed on invoices and forms."),
        ),
    )

    def save_company(user, row, data, files):
        upload = files.get("logo_file")
        return fleet_services.save_company_profile(user, data, logo=upload.read() if upload else None)

    register(
        Setting(
            slug="company-profile",
            title=gettext_lazy("Company profile"),
            singular=gettext_lazy("company profile"),
            help=gettext_lazy("The seller on tax invoices and the letterhead of printed forms."),
            form=company_form,
            columns=[],
            rows=lambda: [],
            get=lambda _pk: CompanyProfile.objects.order_by("created_at").first() or CompanyProfile(name=""),
            store=save_company,
            singleton=True,
            label=lambda p: p.name,
        )
    )

    # Cost elements: default acquisition and running costs per vehicle class (cost sheets start from them).
    cost_names = ["acquisition_cost", *[n for n in quote_services.COST_FIELDS if n != "acquisition_cost"]]
    cost_form = _plain_form(CostElement, cost_names, "CostElementForm")

    def get_class(pk):
        row = VehicleClass.objects.filter(pk=pk).select_related("cost_element").first()
        if row is None:
            raise LookupError(pk)
        return row

    def cost_of(vehicle_class):
        return getattr(vehicle_class, "cost_element", None) if vehicle_class is not None else None

    def cost_cell(name):
        return lambda c: _money(getattr(cost_of(c), name, None)) if cost_of(c) else "—"

    register(
        Setting(
            slug="cost-elements",
            title=gettext_lazy("Cost elements"),
            singular=gettext_lazy("cost element"),
            help=gettext_lazy(
                "Default acquisition cost and monthly running costs per vehicle class; a new cost sheet "
                "starts from them. Existing cost sheets keep their figures."
            ),
            form=cost_form,
            columns=[
                (gettext_lazy("Class"), lambda c: f"{c.code} · {c.name}"),
                *[(CostElement._meta.get_field(n).verbose_name, cost_cell(n)) for n in cost_names],
            ],
            rows=lambda: VehicleClass.objects.select_related("cost_element").order_by("code"),
            get=get_class,
            store=lambda user, row, data, files: quote_services.save_cost_element(user, row, data),
            initial=lambda c: model_to_dict(cost_of(c), fields=cost_names) if cost_of(c) else {},
            fingerprint_of=lambda c: cost_of(c) or c,
            creatable=False,
            label=lambda element: str(element.vehicle_class),
        )
    )

    defaults_form = _plain_form(CostDefaults, list(quote_services.SHEET_PERCENTS), "CostDefaultsForm")
    register(
        Setting(
            slug="cost-defaults",
            title=gettext_lazy("Cost sheet defaults"),
            singular=gettext_lazy("cost sheet defaults"),
            help=gettext_lazy(
                "Financing, overhead and target margin percentages a new cost sheet starts with."
            ),
            form=defaults_form,
            columns=[],
            rows=lambda: [],
            get=lambda _pk: CostDefaults.objects.order_by("pk").first() or CostDefaults(),
            store=lambda user, row, data, files: quote_services.save_cost_defaults(user, data),
            singleton=True,
            label=lambda d: str(_("Cost sheet defaults")),
        )
    )


_declare()
