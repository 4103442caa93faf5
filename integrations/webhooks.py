"""Signed webhook delivery (DESIGN §9): payload, HMAC signature, SSRF-safe HTTP, retry schedule."""

import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import random
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

TIMEOUT_SECONDS = 10
RESPONSE_EXCERPT_CHARS = 1000
# Attempt n waits RETRY_DELAYS[n-1] after attempt n (with ±20 % jitter): 9 attempts over ~31 hours.
RETRY_DELAYS = [
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=8),
    timedelta(hours=12),
]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DISABLE_AFTER = timedelta(days=3)
SIGNATURE_TOLERANCE = timedelta(minutes=5)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def body_for(event) -> bytes:
    payload = {
        "id": str(event.id),
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def headers_for(event, delivery_id, secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": "Custody-Webhooks/1",
        "X-Custody-Event": event.type,
        "X-Custody-Delivery": str(delivery_id),
        "X-Custody-Timestamp": str(timestamp),
        "X-Custody-Signature": signature(secret, timestamp, body),
    }


def verify(secret: str, timestamp: str, body: bytes, given_signature: str, now: float | None = None) -> bool:
    """Constant-time check of an inbound signature with a 5-minute replay window."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = now if now is not None else time.time()
    if abs(now - ts) > SIGNATURE_TOLERANCE.total_seconds():
        return False
    return hmac.compare_digest(signature(secret, ts, body), given_signature or "")


# ---- SSRF protection -------------------------------------------------------------------------------


class UnsafeTarget(Exception):
    pass


def _allow_private() -> bool:
    return str(getattr(settings, "CUSTODY_WEBHOOK_ALLOW_PRIVATE", "")).lower() in ("1", "true", "yes")


def _allowed_networks() -> list:
    """CUSTODY_WEBHOOK_ALLOWED_NETWORKS (comma-separated CIDRs): when set, the ONLY targets allowed
    (e.g. "127.0.0.0/8,::1/128" for the fuzzer and local test rigs)."""
    raw = getattr(settings, "CUSTODY_WEBHOOK_ALLOWED_NETWORKS", "") or ""
    items = raw if isinstance(raw, list | tuple) else raw.split(",")
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use: never public
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo client, NAT64), which is
    where the packet really goes."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """Globally routable per IANA (so not private, loopback, link-local, CGNAT 100.64/10, documentation,
    benchmarking...), not multicast or site-local, and any IPv4 address wrapped inside an IPv6 one too."""
    ip = ipaddress.ip_address(address)
    if not ip.is_global or ip.is_multicast:
        return False
    if ip.version == 6:
        if ip.is_site_local or ip in _NAT64_LOCAL:
            return False
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return is_public_address(str(inner))
    return True


def _address_allowed(address: str) -> bool:
    networks = _allowed_networks()
    if networks:
        ip = ipaddress.ip_address(address)
        return any(ip.version == net.version and ip in net for net in networks)
    return _allow_private() or is_public_address(address)


def resolve_safe(host: str, port: int) -> str:
    """Resolve now and refuse private/loopback/link-local targets (checked at send time: DNS rebinding)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise UnsafeTarget(f"cannot resolve {host}") from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise UnsafeTarget(f"cannot resolve {host}")
    for address in addresses:
        if not _address_allowed(address.split("%", 1)[0]):
            raise UnsafeTarget(f"{host} resolves to a private or local address ({address})")
    return addresses[0]


def target_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL, or UnsafeTarget for anything else (bad port included)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "Port out of range 0-65535", malformed IPv6 literal...
        raise UnsafeTarget(f"invalid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("use an http(s) URL with a host name")
    if port == 0:
        raise UnsafeTarget("invalid URL: port 0")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def validate_url(url: str) -> None:
    """Form/API-time check; the same check runs again at send time."""
    _scheme, host, port = target_of(url)
    resolve_safe(host, port)


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the validated address, with Nagle's algorithm off (as http.client's own
    connect() does): the request's headers and body go out in two writes, and with Nagle on the body
    waits for the receiver's delayed ACK — ~40 ms per request on a keep-alive connection."""
    sock = socket.create_connection((address, port), timeout)
    with contextlib.suppress(OSError):  # a platform without TCP_NODELAY
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = _connect(self._address, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = _connect(self._address, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class SendResult:
    status_code: int | None
    latency_ms: int
    body_excerpt: str
    error: str
    retry_after: timedelta | None


def _retry_after(value: str | None, now: datetime) -> timedelta | None:
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(timedelta(0), when - now) if when else None


def post(url: str, body: bytes, headers: dict[str, str], now: datetime) -> SendResult:
    """POST with the address pinned to the one we validated (no second DNS lookup)."""
    started = time.monotonic()
    try:
        scheme, host, port = target_of(url)
        parts = urlsplit(url)
        https = scheme == "https"
        address = resolve_safe(host, port)
        cls = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
        connection = cls(host, port, address, TIMEOUT_SECONDS)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            excerpt = response.read(RESPONSE_EXCERPT_CHARS * 4).decode("utf-8", "replace")[
                :RESPONSE_EXCERPT_CHARS
            ]
            return SendResult(
                response.status,
                int((time.monotonic() - started) * 1000),
                excerpt,
                "",
                _retry_after(response.getheader("Retry-After"), now),
            )
        finally:
            connection.close()
    except UnsafeTarget as exc:
        return SendResult(None, int((time.monotonic() - started) * 1000), "", f"refused: {exc}", None)
    except (OSError, http.client.HTTPException) as exc:
        return SendResult(
            None, int((time.monotonic() - started) * 1000), "", f"{exc.__class__.__name__}: {exc}"[:300], None
        )


def next_delay(attempts_made: int, rng: random.Random | None = None) -> timedelta | None:
    """Delay before the next attempt after `attempts_made` attempts, or None when it is time to give up."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    base = RETRY_DELAYS[attempts_made - 1]
    jitter = (rng or random).uniform(0.8, 1.2)
    return timedelta(seconds=base.total_seconds() * jitter)
