"""Small reads that many requests repeat, kept per server process for a short while (issue 14).

A `Kept` holds the values its reader returned, per key, for `seconds()` (a setting, read each time so
tests and deployments can change it; 0 reads every time). Saving or deleting a row of a watched model
forgets them in this process at once and again when the transaction commits, so this process never
answers with rows older than its own last write; other processes see a change within `seconds()`.

A read that started before a change committed is not kept (the generation moved while it ran), so a
concurrent request cannot put the old rows back after the change forgot them. Kept values are shared
by every thread of the process: callers must not change them.

What is safe to keep: configuration an admin edits rarely and whose effect a few seconds late in another
process is harmless (the SLA policies, the approval rules, the default tax profile, a filter's recent
customers). What is not: anything a request must see the instant it changes everywhere — the
maintenance switch (core.switches reads it on every request, once).
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

_ALL: list["Kept"] = []


class Kept:
    def __init__(self, name: str, seconds: Callable[[], float], max_keys: int = 1000):
        self.name = name
        self.seconds = seconds
        self.max_keys = max_keys  # a safety net for many keys (e.g. branch scopes)
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """The kept value of `key`, or `read()` (then kept while nothing changed during the read)."""
        now = time.monotonic()
        kept = self._values.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        generation = self._generation
        value = read()
        keep_for = self.seconds()
        if keep_for > 0:
            with self._lock:
                if generation == self._generation:
                    if len(self._values) >= self.max_keys:
                        self._values.clear()
                    self._values[key] = (now + keep_for, value)
        return value

    def forget(self, **_signal) -> None:
        """Forget every kept value (a signal receiver too)."""
        with self._lock:
            self._generation += 1
            self._values.clear()

    def _changed(self, **signal) -> None:
        self.forget()
        # Another thread may read the rows before this transaction commits and keep the old ones:
        # forget again once the change is visible to everyone.
        transaction.on_commit(self.forget, using=signal.get("using"), robust=True)

    def watch(self, *models) -> "Kept":
        """Forget on every save and delete of `models` (call it from AppConfig.ready)."""
        for model in models:
            uid = f"core.kept:{self.name}:{model._meta.label}"
            post_save.connect(self._changed, sender=model, weak=False, dispatch_uid=uid)
            post_delete.connect(self._changed, sender=model, weak=False, dispatch_uid=uid)
        return self


def forget_all() -> None:
    """Every Kept of the process forgets (tests: nothing of an earlier test's database survives it)."""
    for kept in _ALL:
        kept.forget()
