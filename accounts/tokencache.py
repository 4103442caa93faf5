"""Bearer-token lookups, cached per request and for a few seconds across requests.

One query per API request (token + user, then the user's branches) cost ~2 ms; a cache hit costs
~0.05 ms. Revocation stays immediate: saving or deleting a token, saving a user (deactivation, role)
or changing their branches deletes the entries (signals below), and the cache is shared by every
server process on the host (a file cache by default; point CUSTODY_TOKEN_CACHE_LOCATION at Redis
when the servers run on several hosts). A change made with queryset.update() bypasses the signals:
call forget_user() after it.
"""

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import ApiToken, User, hash_token

ALIAS = "tokens"


def _cache():
    return caches[ALIAS]


def _key(token_hash: str) -> str:
    return f"api-token:{token_hash}"


def lookup(request, raw: str) -> ApiToken | None:
    """The token (with .user, whose branch ids are preloaded) for a raw bearer value, or None."""
    memo = getattr(request, "_api_token_memo", None)
    if memo is not None and memo[0] == raw:
        return memo[1]
    token_hash = hash_token(raw)
    token = _cache().get(_key(token_hash))
    if token is None:
        token = ApiToken.objects.select_related("user").filter(token_hash=token_hash).first()
        if token is not None:
            from .permissions import visible_branch_ids

            visible_branch_ids(token.user)  # memoised on the user: cached with it
            remember(token)
    request._api_token_memo = (raw, token)
    return token


def remember(token: ApiToken) -> None:
    _cache().set(_key(token.token_hash), token, settings.CUSTODY_TOKEN_CACHE_SECONDS)


def _forget(keys: list[str]) -> None:
    # Now, and again at commit: a request between the two could cache the row as it was before.
    _cache().delete_many(keys)
    transaction.on_commit(lambda: _cache().delete_many(keys))


def forget_token(token: ApiToken) -> None:
    _forget([_key(token.token_hash)])


def forget_user(user_id) -> None:
    hashes = ApiToken.objects.filter(user_id=user_id).values_list("token_hash", flat=True)
    _forget([_key(h) for h in hashes])


@receiver(post_save, sender=ApiToken)
@receiver(post_delete, sender=ApiToken)
def _token_changed(sender, instance, **kwargs):
    forget_token(instance)


@receiver(post_save, sender=User)
def _user_changed(sender, instance, created, update_fields=None, **kwargs):
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    forget_user(instance.pk)


@receiver(m2m_changed, sender=User.branches.through)
def _branches_changed(sender, instance, action, pk_set=None, **kwargs):
    if not action.startswith("post_"):
        return
    if isinstance(instance, User):
        forget_user(instance.pk)
    else:  # changed from the branch side: every user concerned
        for user_id in pk_set or ():
            forget_user(user_id)
