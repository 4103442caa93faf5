"""Small template helpers for Bootstrap forms and status badges."""

from django import template
from django.utils.html import format_html

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
def badge(label, colour: str = "secondary"):
    return format_html('<span class="badge text-bg-{}">{}</span>', colour or "secondary", label)


@register.simple_tag(takes_context=True)
def query_with(context, **kwargs):
    """The current query string with some parameters replaced (for sort links and pagers)."""
    params = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    params.pop("cursor", None) if "page" in kwargs else None
    return "?" + params.urlencode()
