"""Values on right-to-left pages (issue 12, "Arabic complete").

A phone number, a plate, an amount, a date or a code has no Arabic letter, so inside an Arabic
sentence the browser reorders its parts: "+971 55 234 5678" shows as "5678 234 55 971+". Such a
value is isolated left-to-right; a value with Arabic letters (a name, a note) right-to-left. One home
for that choice: the audit log and timeline, the pages (the `text_dir` and `bdi` filters in
core/templatetags/ui.py) and the texts the system writes (billing.rental).
"""

import re

from django.utils.html import format_html

_RTL_LETTERS = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def text_dir(text) -> str:
    """ "rtl" for text with Arabic (or Hebrew) letters, else "ltr"."""
    return "rtl" if _RTL_LETTERS.search(str(text) if text is not None else "") else "ltr"


def isolate(text) -> str:
    """`text` escaped in a <bdi> with its direction."""
    return format_html('<bdi dir="{}">{}</bdi>', text_dir(text), text)
