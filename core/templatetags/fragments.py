"""`{% fragment "core/layout/_footer.html" admin=is_admin %}`: a template rendered once per language
and then reused (docs/performance.md, issue 14).

The shared layout's links, labels and static files — ~25 `{% url %}`, ~40 `{% trans %}`, ~10
`{% static %}` — cost ~3 ms of CPU on every page, yet they change only with the language: URLs,
translations and static file names are fixed while the process runs. A fragment is such a piece of
markup: it is rendered **without the page's context** (no request, no user, no context processors:
only the arguments given to the tag), once per language, script prefix and set of arguments, and the
HTML is kept in this process. Anything that varies per request stays in the calling template.

Arguments must be hashable and few-valued (flags, a role, a tuple of section names): each distinct
combination is a kept copy. In development, editing a template clears the kept copies (the
autoreloader's `file_changed`, the same signal that resets Django's template loaders).
"""

from django import template
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils import translation
from django.utils.autoreload import file_changed
from django.utils.safestring import mark_safe

register = template.Library()

MAX_KEPT = 2000  # a safety net: beyond it, fragments are rendered each time rather than kept
_kept: dict[tuple, str] = {}


def render_fragment(template_name: str, **args) -> str:
    key = (template_name, translation.get_language(), get_script_prefix(), *sorted(args.items()))
    html = _kept.get(key)
    if html is None:
        html = mark_safe(render_to_string(template_name, args))  # noqa: S308 - a template's own output
        if len(_kept) < MAX_KEPT:
            _kept[key] = html
    return html


@register.simple_tag
def fragment(template_name: str, **args):
    return render_fragment(template_name, **args)


def clear() -> None:
    _kept.clear()


def _template_changed(sender, file_path, **kwargs):
    if file_path.suffix != ".py":
        clear()


file_changed.connect(_template_changed, dispatch_uid="core_fragments_file_changed")
