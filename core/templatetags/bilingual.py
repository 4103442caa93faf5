"""English + Arabic side by side on printed documents: {% bi _("Tax invoice") %}.

The argument is resolved once per language, so the one msgid in the catalogue serves both.
"""

from django import template
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


class BilingualNode(template.Node):
    def __init__(self, expression, block: bool):
        self.expression = expression
        self.block = block

    def render(self, context):
        with translation.override("en"):
            english = str(self.expression.resolve(context))
        with translation.override("ar"):
            arabic = str(self.expression.resolve(context))
        if arabic == english:
            return format_html('<span class="en">{}</span>', english)
        sep = '<br class="bi-br">' if self.block else " · "
        return format_html(
            '<span class="en" lang="en" dir="ltr">{}</span>{}<span class="ar" lang="ar" dir="rtl">{}</span>',
            english,
            mark_safe(sep),  # noqa: S308 - a constant
            arabic,
        )


@register.tag
def bi(parser, token):
    """{% bi _("Label") %} inline, {% bi _("Label") block %} on two lines (table headers)."""
    bits = token.split_contents()
    if len(bits) not in (2, 3):
        raise template.TemplateSyntaxError("{% bi _('text') [block] %}")
    return BilingualNode(parser.compile_filter(bits[1]), block=len(bits) == 3 and bits[2] == "block")
