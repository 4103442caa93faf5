"""The lists whose filters a user may save (issue 12, "lists that remember").

accounts sits below the apps whose lists these are, so each list registers itself at
`AppConfig.ready`: its key, its title, its page (URL name), its filter form and its sort orders (dotted
paths, imported when used). The form is the one the list page validates its own filters with (a dotted path to
`form(user, data) -> bound Form`), so what a saved filter may hold cannot drift from what the page
accepts: `clean_query` keeps only that form's fields (and a known sort order), drops empty values and
values the form refuses today (a branch the user no longer works in, a status that was renamed), and
never keeps `page`, `cursor`, `format` or a made-up key.
"""

from dataclasses import dataclass
from datetime import date

from django import forms
from django.http import QueryDict
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from core import dates

ORDERING = "ordering"


@dataclass(frozen=True)
class FilterList:
    key: str  # "custodies": stored in SavedFilter.list_key, used in the saved-filter pages' URLs
    title: str  # what the manage page calls the list ("Custodies")
    url_name: str  # the list page
    form: str  # dotted path of `form(user, data) -> bound filter form`
    orderings: str = ""  # dotted path of the list's sort fields (a set, without "-")


_LISTS: dict[str, FilterList] = {}


def register(definition: FilterList) -> None:
    _LISTS[definition.key] = definition


def get(key: str) -> FilterList | None:
    return _LISTS.get(key)


@dataclass
class CleanQuery:
    query: str  # url-encoded: the list's own filters with values it accepts, in the form's order
    dropped: list[str]  # labels of the filters left out because the list refuses their value now
    summary: list[tuple[str, str]]  # (label, value as the reader reads it) of each filter kept


def clean_query(user, key: str, data: QueryDict | str) -> CleanQuery:
    """`data` (a list's query string) reduced to what the list `key` accepts for `user` now."""
    definition = _LISTS[key]
    if isinstance(data, str):
        data = QueryDict(data)
    form = import_string(definition.form)(user, data)
    valid = form.is_valid()
    refused = set() if valid else set(form.errors)
    kept = QueryDict(mutable=True)
    dropped: list[str] = []
    summary: list[tuple[str, str]] = []
    for name, form_field in form.fields.items():
        values = [v.strip() for v in data.getlist(name) if v and v.strip()]
        if not values:
            continue
        if name in refused:
            dropped.append(str(form_field.label or name))
            continue
        if not isinstance(form_field, forms.MultipleChoiceField):
            values = values[-1:]  # what the form read (QueryDict.get is the last value)
        # Each value once, in the order given (a repeated status check box counts once).
        kept.setlist(name, list(dict.fromkeys(values)))
        summary.append((str(form_field.label or name), _value_text(form_field, form.cleaned_data.get(name))))
    ordering = (data.get(ORDERING) or "").strip()
    if ordering:
        orderings = import_string(definition.orderings) if definition.orderings else ()
        if ordering.lstrip("-") in orderings:
            kept[ORDERING] = ordering
        else:
            dropped.append(str(_("Sort order")))
    return CleanQuery(query=kept.urlencode(), dropped=dropped, summary=summary)


def _value_text(form_field, value) -> str:
    choices = dict(getattr(form_field, "choices", None) or getattr(form_field.widget, "choices", None) or ())
    if isinstance(value, list | tuple):
        return ", ".join(str(choices.get(v, v)) for v in value)
    if isinstance(value, date):
        return dates.date_text(value)
    if choices and value in choices:
        return str(choices[value])
    if choices and str(value) in choices:
        return str(choices[str(value)])
    return str(value)
