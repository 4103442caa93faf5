"""Where a request's time goes, by stage (bench/profile.py, bench/writes_cpu.py): a clock of exclusive
time per stage and the hooks that enter and leave the stages. Call `instrument()` after Django is set up
and before the WSGI handler is made (it binds _get_response into its middleware chain).

Stages: middleware (entered by the caller around the handler), auth, compile (SQLCompiler.as_sql and
the subclasses that override it), database (cursor.execute), decoding (QuerySet._fetch_all / count),
serialisation (ninja, orjson, JsonResponse), template, view (everything else in the view).
"""

import time
from collections import defaultdict

STAGES = ["middleware", "auth", "compile", "database", "decoding", "serialisation", "template", "view"]


class Clock:
    """Exclusive time per stage: a stack of stages; entering one pauses the one below. `now` is
    time.perf_counter (wall) or time.thread_time (this thread's CPU)."""

    def __init__(self, now=time.perf_counter):
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[str] = []
        self.mark = 0.0
        self.now = now

    def enter(self, stage: str) -> None:
        now = self.now()
        if self.stack:
            self.totals[self.stack[-1]] += now - self.mark
        self.stack.append(stage)
        self.mark = now

    def leave(self) -> None:
        now = self.now()
        self.totals[self.stack.pop()] += now - self.mark
        self.mark = now


CLOCK = Clock()


def timed(owner, name: str, stage: str) -> None:
    original = owner.__dict__[name]

    def wrapper(*args, **kwargs):
        CLOCK.enter(stage)
        try:
            return original(*args, **kwargs)
        finally:
            CLOCK.leave()

    wrapper.__wrapped__ = original
    setattr(owner, name, wrapper)


def instrument() -> None:
    from django.core.handlers.base import BaseHandler
    from django.db.backends.utils import CursorWrapper
    from django.db.models.query import QuerySet
    from django.db.models.sql import compiler
    from django.http import JsonResponse
    from django.template.base import Template
    from ninja.operation import Operation
    from ninja.renderers import JSONRenderer

    from accounts import api as accounts_api
    from core import fastjson

    timed(BaseHandler, "_get_response", "view")
    timed(accounts_api.BearerTokenAuth, "authenticate", "auth")
    timed(accounts_api.SessionCookieAuth, "authenticate", "auth")
    for cls in (
        compiler.SQLCompiler,
        compiler.SQLInsertCompiler,
        compiler.SQLUpdateCompiler,
        compiler.SQLDeleteCompiler,
        compiler.SQLAggregateCompiler,
    ):
        if "as_sql" in cls.__dict__:
            timed(cls, "as_sql", "compile")
    timed(CursorWrapper, "execute", "database")
    timed(CursorWrapper, "executemany", "database")
    timed(QuerySet, "_fetch_all", "decoding")
    timed(QuerySet, "count", "decoding")
    timed(fastjson, "dumps", "serialisation")
    timed(Operation, "_result_to_response", "serialisation")
    timed(JSONRenderer, "render", "serialisation")
    timed(JsonResponse, "__init__", "serialisation")
    timed(Template, "render", "template")
