"""Idempotency-Key for creating POSTs of the API (DESIGN §15, as Stripe does it).

The first result for (user, key) is stored for 24 hours and replayed for a retry with the same body;
the same key with another body, or a retry while the first request still runs, is 409 CONFLICT.
A "running" record is a lease: when its process died mid-request (no result after the lease,
CUSTODY_IDEMPOTENCY_LEASE_SECONDS, 60 by default), a retry takes it over and runs again instead of
answering "still running" for a day.

The request's writes and its stored result commit in one transaction: a process killed after the
write but before the result was stored would otherwise leave a committed payment behind a "running"
record, and the retry after the lease would record it a second time. A 5xx rolls the writes back.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from accounts.models import ApiToken, hash_token

from .models import IdempotencyRecord

TTL = timedelta(hours=24)
LEASE = timedelta(seconds=60)


def lease() -> timedelta:
    seconds = getattr(settings, "CUSTODY_IDEMPOTENCY_LEASE_SECONDS", None)
    return LEASE if seconds is None else timedelta(seconds=int(seconds))


def _conflict(message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "CONFLICT", "message": message, "details": {}}}, status=409)


def _user_of(request):
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        token = (
            ApiToken.objects.select_related("user").filter(token_hash=hash_token(header[7:].strip())).first()
        )
        return token.user if token and token.is_usable and token.user.is_active else None
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _request_digest(request) -> str:
    """What makes two requests "the same": JSON bodies byte for byte; multipart by fields and file hashes
    (boundaries differ per retry, and big uploads must not be read into memory here)."""
    digest = hashlib.sha256(request.method.encode() + request.path.encode() + b"\n")
    if request.content_type == "multipart/form-data":
        for key in sorted(request.POST):
            for value in request.POST.getlist(key):
                digest.update(f"{key}={value}\n".encode())
        for key in sorted(request.FILES):
            for upload in request.FILES.getlist(key):
                file_hash = hashlib.sha256()
                for chunk in upload.chunks():
                    file_hash.update(chunk)
                upload.seek(0)
                digest.update(f"{key}:{upload.name}:{file_hash.hexdigest()}\n".encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or request.method != "POST" or not request.path.startswith("/api/"):
            return self.get_response(request)
        if len(key) > 255:
            return JsonResponse(
                {
                    "error": {
                        "code": "VALIDATION_ERROR",
                        "message": "Idempotency-Key is too long.",
                        "details": {"Idempotency-Key": ["At most 255 characters."]},
                    }
                },
                status=422,
            )
        user = _user_of(request)
        if user is None:
            return self.get_response(request)  # the API answers 401
        digest = _request_digest(request)
        record = self._claim(user, key, request, digest)
        if isinstance(record, HttpResponse):
            return record
        try:
            with transaction.atomic():
                response = self.get_response(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)  # a server failure is not a result
                else:
                    record.status_code = response.status_code
                    record.response_body = response.content
                    record.save(update_fields=["status_code", "response_body"])
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()  # let the client retry
        return response

    def _claim(self, user, key, request, digest):
        IdempotencyRecord.objects.filter(user=user, key=key, created_at__lt=timezone.now() - TTL).delete()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=user, key=key, method=request.method, path=request.path[:255], request_hash=digest
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if existing is None:
                return _conflict("The request with this Idempotency-Key is still running; retry shortly.")
            if existing.request_hash != digest:
                return _conflict("This Idempotency-Key was used with a different request.")
            if existing.status_code is None:
                return self._take_over(existing) or _conflict(
                    "The request with this Idempotency-Key is still running; retry shortly."
                )
            response = HttpResponse(
                bytes(existing.response_body or b""),
                status=existing.status_code,
                content_type="application/json",
            )
            response["Idempotent-Replayed"] = "true"
            return response

    @staticmethod
    def _take_over(existing):
        """Claim a running record whose lease ran out (its request crashed); None while it is live.
        The conditional UPDATE lets exactly one of several concurrent retries win."""
        now = timezone.now()
        won = IdempotencyRecord.objects.filter(
            pk=existing.pk, status_code__isnull=True, created_at__lt=now - lease()
        ).update(created_at=now)
        if not won:
            return None
        existing.created_at = now
        return existing


def purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - TTL).delete()
    return deleted
