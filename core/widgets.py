"""Form widgets rendered in Python, for forms on hot pages.

Django renders a <select> through a template per option (select.html → select_option.html →
attrs.html): ~0.15–0.25 ms per option, so the custody list's filter selects (a hundred recent
customers, branches, reasons) cost ~20–30 ms of CPU per page — more than its 50 rows
(docs/performance.md, issue 14). This builds the same markup with format_html; the text and date
inputs likewise (~0.25 ms each through input.html → attrs.html).
"""

import html

from django import forms
from django.forms.utils import flatatt
from django.utils.choices import BaseChoiceIterator
from django.utils.safestring import mark_safe
from django.utils.translation import get_language


def _attrs(attrs: dict) -> str:
    """attrs.html in Python: in order, `False` left out, `True` as a bare name, values escaped."""
    return "".join(
        f" {_escape(name)}" if value is True else f' {_escape(name)}="{_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class FastInputMixin:
    """An <input> rendered without templates: the same context as Django's (value formatting, attrs),
    the same markup as input.html."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else f' value="{_escape(widget["value"])}"'
        markup = f'<input type="{_escape(widget["type"])}" name="{_escape(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'
        return mark_safe(markup)  # noqa: S308 - every value escaped above


class FastTextInput(FastInputMixin, forms.TextInput):
    pass


class FastDateInput(FastInputMixin, forms.DateInput):
    pass


class FlatChoices(BaseChoiceIterator):
    """Choices that are already flat (value, label) pairs, given to a ChoiceField as they are: Django
    normalises a plain list item by item twice per form (field, then widget), ~2.5 µs an item — a
    hundred customers in a filter, on every page."""

    def __init__(self, pairs):
        self.pairs = list(pairs)

    def __iter__(self):
        return iter(self.pairs)

    def __len__(self):
        return len(self.pairs)


class FastSelect(forms.Select):
    """A single-choice <select> with flat choices, rendered without templates (same HTML as Select,
    without the blank lines between the options).

    `options_key`: for choices that depend on nothing but the language (a fixed list of translated
    labels), a name under which their <option> markup is kept per language in this process; a page
    then only marks the selected one. Never give it to choices made per user or per request.
    """

    def __init__(self, attrs=None, choices=(), options_key: str | None = None):
        super().__init__(attrs, choices)
        self.options_key = options_key

    def render(self, name, value, attrs=None, renderer=None):
        key = (self.options_key, get_language()) if self.options_key else None
        options = _kept_options.get(key) if key else None
        if options is None:
            choices = list(self.choices)
            if any(isinstance(label, (list, tuple)) for _value, label in choices):
                return super().render(name, value, attrs, renderer)  # option groups: Django's templates
            options = "".join(
                f'<option value="{_escape("" if v is None else str(v))}">{_escape(label)}</option>'
                for v, label in choices
            )
            if key:
                _kept_options[key] = options
        wanted = self.format_value(value)
        if wanted:  # a single select marks its first match only, like Django's
            opening = f'<option value="{_escape(wanted[0])}">'
            options = options.replace(opening, f"{opening[:-1]} selected>", 1)
        final_attrs = self.build_attrs(self.attrs, attrs)
        return mark_safe(f'<select name="{_escape(name)}"{flatatt(final_attrs)}>{options}</select>')  # noqa: S308 - escaped above


_kept_options: dict[tuple, str] = {}


def _escape(value) -> str:
    """conditional_escape() without its lazy-string wrapper: safe strings as they are, others escaped."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
