"""Small template helpers for Bootstrap forms and status badges."""

from urllib.parse import urlencode

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from core import bidi

register = template.Library()


@register.filter
def text_dir(value) -> str:
    """ "ltr" or "rtl" for dir="…": a value without Arabic letters keeps its order on Arabic pages."""
    return bidi.text_dir(value)


@register.filter
def bdi(value):
    """The value isolated in a <bdi> with its direction (phone numbers, plates, amounts, codes)."""
    return bidi.isolate(value)


@register.filter
def add_class(field, css: str):
    """Render a bound field's widget with extra CSS classes (is-invalid when it has errors)."""
    classes = css + (" is-invalid" if getattr(field, "errors", None) else "")
    existing = field.field.widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {classes}".strip()})


@register.simple_tag
def options(choices, selected=""):
    """`<option>`s of (value, label) pairs, those whose value is `selected` (as text) selected: a
    loop of three variables and a comparison per option, in one call (the layout's branch switcher)."""
    selected = str(selected)
    return mark_safe(  # noqa: S308 - every value escaped
        "".join(
            f'<option value="{escape(value)}"{" selected" if str(value) == selected else ""}>{escape(label)}</option>'
            for value, label in choices
        )
    )


@register.simple_tag
def badge(label, colour: str = "secondary"):
    return format_html('<span class="badge text-bg-{}">{}</span>', colour or "secondary", label)


@register.simple_tag(takes_context=True)
def query_with(context, **kwargs):
    """The current query string with some parameters replaced (for sort links and pagers).

    The same text as `request.GET.copy()`, the replacements, then `.urlencode()` — without copying
    and re-encoding the whole query for each of a page's dozen links: the request's parameters are
    encoded once (kept on the request) and only the replaced ones again."""
    request = context["request"]
    encoded = getattr(request, "_query_with_encoded", None)
    if encoded is None:
        encoded = request._query_with_encoded = {
            key: [_encode(key, value) for value in values] for key, values in request.GET.lists()
        }
    changed = dict(encoded)
    for key, value in kwargs.items():
        if value in (None, ""):
            changed.pop(key, None)
        else:
            changed[key] = [_encode(key, value)]
    if "page" in kwargs:
        changed.pop("cursor", None)
    return "?" + "&".join(pair for pairs in changed.values() for pair in pairs)


def _encode(key: str, value) -> str:
    """One `key=value` as QueryDict.urlencode() writes it."""
    return urlencode({key.encode(): str(value).encode()})
