"""Batched webhook sending: keep-alive connections per endpoint, a bounded pool of concurrent sends.

A new TCP (and TLS) connection per delivery and one delivery at a time held one worker to ~17
events/s; reusing connections and sending a batch in parallel is what makes 200+/s (docs/performance.md).
Every connection is opened to the address webhooks.resolve_safe() validated, as webhooks.post() does.
"""

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from urllib.parse import urlsplit

from . import webhooks

MAX_CONCURRENT_SENDS = 8
MAX_IDLE_PER_ENDPOINT = 8


class Connections:
    """Idle keep-alive connections by (scheme, host, port); safe to share between sender threads."""

    def __init__(self):
        self._idle: dict[tuple, list] = {}
        self._lock = threading.Lock()

    def _take(self, key):
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _give_back(self, key, connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE_PER_ENDPOINT:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def post(self, url: str, body: bytes, headers: dict[str, str], now: datetime) -> webhooks.SendResult:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        key = (parts.scheme, parts.hostname, port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        started = time.monotonic()
        reused = self._take(key)
        for connection in ([reused] if reused else []) + [None]:
            fresh = connection is None
            try:
                if fresh:
                    address = webhooks.resolve_safe(parts.hostname or "", port)
                    cls = webhooks._PinnedHTTPSConnection if https else webhooks._PinnedHTTPConnection
                    connection = cls(parts.hostname, port, address, webhooks.TIMEOUT_SECONDS)
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                raw = response.read(webhooks.RESPONSE_EXCERPT_CHARS * 4)
                keep = not response.will_close and response.isclosed()  # read to the end: reusable
                result = webhooks.SendResult(
                    response.status,
                    int((time.monotonic() - started) * 1000),
                    raw.decode("utf-8", "replace")[: webhooks.RESPONSE_EXCERPT_CHARS],
                    "",
                    webhooks._retry_after(response.getheader("Retry-After"), now),
                )
                if keep:
                    self._give_back(key, connection)
                else:
                    connection.close()
                return result
            except webhooks.UnsafeTarget as exc:
                return webhooks.SendResult(
                    None, int((time.monotonic() - started) * 1000), "", f"refused: {exc}", None
                )
            except (OSError, http.client.HTTPException) as exc:
                if connection is not None:
                    connection.close()
                if not fresh:
                    continue  # the receiver closed an idle keep-alive connection: once more, fresh
                return webhooks.SendResult(
                    None,
                    int((time.monotonic() - started) * 1000),
                    "",
                    f"{exc.__class__.__name__}: {exc}"[:300],
                    None,
                )
        raise AssertionError("unreachable")


class Sender:
    """Sends a batch of (url, body, headers) concurrently, at most `concurrency` at a time."""

    def __init__(self, concurrency: int = MAX_CONCURRENT_SENDS):
        self.concurrency = concurrency
        self.connections = Connections()
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook-send")

    def send_all(
        self, requests: list[tuple[str, bytes, dict]], now: datetime, start_within: float | None = None
    ) -> list[webhooks.SendResult | None]:
        """One result per request, in order; None for a request not started within `start_within`
        seconds (a slow receiver held the pool: the caller releases it, unattempted)."""
        start_by = None if start_within is None else time.monotonic() + start_within

        def send(request):
            if start_by is not None and time.monotonic() > start_by:
                return None
            return self.connections.post(request[0], request[1], request[2], now)

        return list(self.pool.map(send, requests))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.connections.close()
