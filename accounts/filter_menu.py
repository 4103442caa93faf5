"""A list's "Saved filters" menu, rendered once per user, list and language and then cached
(docs/performance.md, issue 14: its query cost ~3–5 ms of compile and decoding on every list page).

What the menu shows changes only when a saved filter is written (saved, renamed, re-shared,
deleted: the services in accounts.services call `forget()`), or when a user changes in a way the
menu reads (an owner's name or deactivation, someone's branches: signals below, as in
accounts.tokencache). Any of
these moves one **generation** stamp, and a cached menu is used only under the generation it was
made in, so every menu is rebuilt at the next page after a change — in every server process: the
stamp lives in the "shared" cache (a file cache on one host, Redis on several), the menus themselves
in each process's local cache (a stale one is simply never asked for again).

The stamp moves at once and again at commit: a page rendered between the two could otherwise cache
what it read before the change under the new stamp. A write that bypasses the models' signals
(`queryset.update()` on users or filters) must call `forget()` itself.
"""

import uuid

from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe

from . import selectors
from .models import SavedFilter, User

GENERATION_KEY = "saved-filter-menus:generation"
MENU_SECONDS = 3600  # unused menus leave the local cache after an hour
TEMPLATE = "accounts/saved_filters/_menu.html"
_NEW_URL = "\x00new-url\x00"  # where the per-request "Save current filters…" address goes


def _shared():
    return caches["shared"]


def _local():
    return caches["default"]


def generation() -> str:
    value = _shared().get(GENERATION_KEY)
    if value is None:  # first use, or evicted: a new stamp (never an old one, whose menus may be stale)
        _shared().add(GENERATION_KEY, uuid.uuid4().hex, None)
        value = _shared().get(GENERATION_KEY)
    return value


def _bump() -> None:
    _shared().set(GENERATION_KEY, uuid.uuid4().hex, None)


def forget() -> None:
    """Every cached menu is out of date: rebuilt at the next page, now and after the commit."""
    _bump()
    transaction.on_commit(_bump)


def menu(request, list_key: str, form_id: str = "") -> str:
    """The menu's HTML for this request's user (see accounts.templatetags.saved_filters)."""
    user = request.user
    key = ":".join(
        (
            "saved-filter-menu",
            generation(),
            str(user.pk),
            list_key,
            form_id,
            translation.get_language() or "",
            get_script_prefix(),
        )
    )
    parts = _local().get(key)
    if parts is None:
        parts = tuple(_render(user, list_key, form_id).split(_NEW_URL))
        _local().set(key, parts, MENU_SECONDS)
    query = request.GET.copy()
    for name in ("page", "cursor", "format"):
        query.pop(name, None)
    new_url = reverse("saved_filters:new", args=[list_key])
    new_url = f"{new_url}?{query.urlencode()}" if query else new_url
    return mark_safe(escape(new_url).join(parts))  # noqa: S308 - rendered by the template, the address escaped


def _render(user, list_key: str, form_id: str) -> str:
    found = list(selectors.saved_filters_for(user, list_key))
    return render_to_string(
        TEMPLATE,
        {
            "key": list_key,
            "form_id": form_id,
            "mine": [f for f in found if f.mine],
            "shared": [f for f in found if not f.mine],
            "new_url": _NEW_URL,
        },
    )


# ---- what else changes a menu ---------------------------------------------------------------------
# The saved-filter services call forget() themselves; these catch the writes that happen elsewhere.


@receiver(post_delete, sender=SavedFilter)  # a deleted user's filters go with them
@receiver(post_delete, sender=SavedFilter.shared_with.through)  # a deleted branch takes its shares
def _deleted_with_something_else(sender, **kwargs):
    forget()


@receiver(m2m_changed, sender=User.branches.through)
def _branches_changed(sender, action, **kwargs):
    if action.startswith("post_"):
        forget()


@receiver(post_save, sender=User)
def _user_changed(sender, instance, created, update_fields=None, **kwargs):
    """An owner's name or deactivation, a user's branch scope: rare writes, so every menu goes."""
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    forget()
