"""Saved list filters (issue 12, "lists that remember"): the pages behind a list's "Saved filters" menu.

A user saves a list's current filters under a name (privately, or shared read-only with branches),
applies one (own or a colleague's shared with their branch), renames, re-shares or deletes their own.
The lists register themselves (accounts.lists); the rules live in accounts.services (validation,
audit), accounts.permissions (only the owner changes one) and accounts.selectors (who sees one: a
filter shared with no branch of the user is not found, 404).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ValidationFailed

from . import lists, permissions, selectors, services
from .models import SavedFilter

_Branch = SavedFilter._meta.get_field("shared_with").related_model  # fleet.Branch, without importing upwards


class SavedFilterForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=SavedFilter.NAME_MAX)
    shared_with = forms.MultipleChoiceField(
        label=gettext_lazy("Share with the users of"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "They can apply it; only you can rename or delete it. Leave empty to keep it to yourself."
        ),
    )
    query = forms.CharField(required=False, widget=forms.HiddenInput, max_length=SavedFilter.QUERY_MAX * 2)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        branches = permissions.scope_to_branches(_Branch.objects.filter(active=True), user, field="pk")
        self.fields["shared_with"].choices = [
            (str(b.pk), f"{b.code} · {b.name}") for b in branches.order_by("code")
        ]

    def add_service_errors(self, exc: ValidationFailed) -> None:
        details = exc.details if isinstance(exc.details, dict) else {}
        shown = False
        for name, errors in details.items():
            for error in errors if isinstance(errors, list | tuple) else []:
                self.add_error(name if name in ("name", "shared_with") else None, str(error))
                shown = True
        if not shown:
            self.add_error(None, exc.message)


def _definition(list_key: str) -> lists.FilterList:
    definition = lists.get(list_key)
    if definition is None:
        raise Http404
    return definition


def _list_url(definition: lists.FilterList, query: str = "") -> str:
    return reverse(definition.url_name) + (f"?{query}" if query else "")


def _visible(request, pk) -> SavedFilter:
    return get_object_or_404(selectors.visible_saved_filters(request.user), pk=pk)


@login_required
@require_GET
def apply_filter(request, pk):
    """Open the list with a saved filter's filters; what the list refuses today is left out and said so."""
    saved = _visible(request, pk)
    definition = _definition(saved.list_key)
    cleaned = lists.clean_query(request.user, saved.list_key, saved.query)
    if cleaned.dropped:
        messages.warning(
            request,
            _("Part of “%(name)s” no longer applies and was left out: %(filters)s.")
            % {"name": saved.name, "filters": ", ".join(cleaned.dropped)},
        )
    return redirect(_list_url(definition, cleaned.query))


@login_required
@require_http_methods(["GET", "POST"])
def new_filter(request, list_key):
    """Save the filters the list shows now (they arrive as this page's query string) under a name."""
    definition = _definition(list_key)
    user = request.user
    status = 200
    if request.method == "POST":
        form = SavedFilterForm(request.POST, user=user)
        if form.is_valid():
            try:
                saved = services.save_filter(
                    user,
                    list_key,
                    name=form.cleaned_data["name"],
                    query=form.cleaned_data["query"],
                    shared_with=form.cleaned_data["shared_with"],
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Filter “%(name)s” saved.") % {"name": saved.name})
                return redirect(_list_url(definition, saved.query))
        status = 422
    else:
        form = SavedFilterForm(initial={"query": request.GET.urlencode()}, user=user)
    query = form["query"].value() or ""
    cleaned = lists.clean_query(user, list_key, query)
    context = {
        "definition": definition,
        "form": form,
        "summary": cleaned.summary,
        "dropped": cleaned.dropped,
        "back_url": _list_url(definition, cleaned.query),
    }
    return render(request, "accounts/saved_filters/new.html", context, status=status)


@login_required
@require_GET
def manage_filters(request, list_key):
    definition = _definition(list_key)
    found = list(selectors.saved_filters_for(request.user, list_key).prefetch_related("shared_with"))
    return render(
        request,
        "accounts/saved_filters/manage.html",
        {
            "definition": definition,
            "mine": [f for f in found if f.mine],
            "shared": [f for f in found if not f.mine],
            "list_url": _list_url(definition),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit_filter(request, pk):
    """Rename a saved filter or share it differently (its owner; a colleague who sees it: 403)."""
    saved = _visible(request, pk)
    definition = _definition(saved.list_key)
    if not permissions.may_change_saved_filter(request.user, saved):
        raise PermissionDenied(_("Only the person who saved this filter may change it."))
    status = 200
    if request.method == "POST":
        form = SavedFilterForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                saved = services.update_saved_filter(
                    request.user,
                    saved.pk,
                    name=form.cleaned_data["name"],
                    shared_with=form.cleaned_data["shared_with"],
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Filter “%(name)s” saved.") % {"name": saved.name})
                return redirect("saved_filters:manage", saved.list_key)
        status = 422
    else:
        form = SavedFilterForm(
            initial={
                "name": saved.name,
                "shared_with": [str(pk) for pk in saved.shared_with.values_list("pk", flat=True)],
            },
            user=request.user,
        )
    cleaned = lists.clean_query(request.user, saved.list_key, saved.query)
    context = {
        "definition": definition,
        "form": form,
        "saved": saved,
        "summary": cleaned.summary,
        "dropped": cleaned.dropped,
    }
    return render(request, "accounts/saved_filters/edit.html", context, status=status)


@login_required
@require_POST
def delete_filter(request, pk):
    try:
        saved = selectors.visible_saved_filters(request.user).get(pk=pk)
        services.delete_saved_filter(request.user, pk)
    except SavedFilter.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("Filter “%(name)s” deleted.") % {"name": saved.name})
    return redirect("saved_filters:manage", saved.list_key)


app_name = "saved_filters"
urlpatterns = [
    path("<uuid:pk>/", apply_filter, name="apply"),
    path("<uuid:pk>/edit/", edit_filter, name="edit"),
    path("<uuid:pk>/delete/", delete_filter, name="delete"),
    path("<str:list_key>/", manage_filters, name="manage"),
    path("<str:list_key>/new/", new_filter, name="new"),
]
