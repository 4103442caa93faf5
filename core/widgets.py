"""Form widgets rendered in Python, for forms on hot pages.

Django renders a <select> through a template per option (select.html → select_option.html →
attrs.html): ~0.15–0.25 ms per option, so the custody list's filter selects (a hundred recent
customers, branches, reasons) cost ~20–30 ms of CPU per page — more than its 50 rows
(docs/performance.md, issue 14). This builds the same markup with format_html.
"""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

_SELECTED = mark_safe(" selected")  # noqa: S308 - a constant


class FastSelect(forms.Select):
    """A single-choice <select> with flat choices, rendered without templates (same HTML as Select)."""

    def render(self, name, value, attrs=None, renderer=None):
        choices = list(self.choices)
        if any(isinstance(label, (list, tuple)) for _value, label in choices):
            return super().render(name, value, attrs, renderer)  # option groups: Django's templates
        wanted = self.format_value(value)
        selected = wanted[0] if wanted else None
        options = []
        for option_value, label in choices:
            option_value = "" if option_value is None else str(option_value)
            is_selected = selected is not None and option_value == selected
            if is_selected:
                selected = None  # a single select marks its first match only, like Django's
            options.append((option_value, _SELECTED if is_selected else "", label))
        final_attrs = self.build_attrs(self.attrs, attrs)
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(final_attrs),
            format_html_join("", '<option value="{}"{}>{}</option>', options),
        )
