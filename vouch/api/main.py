"""The integration API: authentication, the error envelope, Idempotency-Key, and
the routers of each area mounted under /api/v1/."""

import functools
import hashlib
import json
import logging
from datetime import timedelta

import ninja.parser
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from vouch import clock
from vouch.api.models import IdempotencyRecord
from vouch.api.schemas import ErrorOut
from vouch.audit.services import ActorRef
from vouch.errors import Conflict, Invalid, VouchError
from vouch.sites.services import api_key_authenticate

log = logging.getLogger(__name__)

ERRORS = {401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
IDEMPOTENCY_WINDOW = timedelta(hours=24)


class ApiKeyAuth(HttpBearer):
    openapi_description = "Authorization: Bearer <api key>. A key sees only its own site's data."

    def authenticate(self, request, token):
        key = api_key_authenticate(token)
        if key is None:
            return None
        request.site = key.site
        request.actor = ActorRef(
            kind="api",
            label=f"API key {key.prefix} ({key.name})",
            api_key_id=key.pk,
            ip=request.META.get("REMOTE_ADDR", ""),
        )
        return key


def without_nul(value):
    """PostgreSQL text cannot hold NUL characters; they carry no meaning in any field, so
    they are dropped from every string the API reads instead of failing the write."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    return value


class Parser(ninja.parser.Parser):
    def parse_body(self, request):
        return without_nul(super().parse_body(request))

    def parse_querydict(self, data, list_fields, request):
        return without_nul(super().parse_querydict(data, list_fields, request))


api = NinjaAPI(
    parser=Parser(),
    title="Vouch integration API",
    version="1",
    description='Referral-program engine. Errors are `{"error": {"code", "message", "details"}}`. '
    "Every POST accepts an `Idempotency-Key` header (Stripe's meaning, 24 hours).",
    auth=ApiKeyAuth(),
    urls_namespace="api",
)


def _error(request, status: int, code: str, message: str, details: list | None = None):
    return api.create_response(
        request, {"error": {"code": code, "message": message, "details": details or []}}, status=status
    )


@api.exception_handler(VouchError)
def _vouch_error(request, exc: VouchError):
    return _error(request, exc.status, exc.code, exc.message, exc.details)


_NOT_FIELDS = {
    "body",
    "query",
    "path",
    "header",
    "payload",
    "data",
    "form",
    "file",
    "purchase",
    "signup",
    "refund",
    "custom",
}


def _field_name(loc) -> str:
    """The field's dotted path, without pydantic's parameter and union-member steps
    (event types, and CamelCase model names such as CouponFromList)."""
    parts = [str(p) for p in loc if p not in _NOT_FIELDS and not (isinstance(p, str) and p[:1].isupper())]
    return ".".join(parts) or "body"


def _error_field(error: dict) -> str:
    loc = list(error.get("loc", ()))
    discriminator = (error.get("ctx") or {}).get("discriminator")
    if discriminator:
        loc.append(str(discriminator).strip("'"))
    return _field_name(loc)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    details = [{"field": _error_field(e), "message": e.get("msg", "is invalid")} for e in exc.errors]
    fields = ", ".join(sorted({d["field"] for d in details}))
    return _error(request, 422, "invalid_request", f"Some fields are missing or invalid: {fields}.", details)


@api.exception_handler(AuthenticationError)
def _unauthorised(request, exc):
    return _error(request, 401, "unauthorized", "Send a valid API key as 'Authorization: Bearer <key>'.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 400:
        return _error(request, 422, "malformed_body", f"The request body could not be read: {exc.message}")
    return _error(request, exc.status_code, "http_error", exc.message)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not_found", "Nothing is at this address.")


def request_fingerprint(request) -> str:
    """What makes two requests "the same" for an Idempotency-Key: method, path, query and
    body. A multipart body is hashed through its parsed fields and files, because Django
    refuses `request.body` once it has parsed an upload."""
    digest = hashlib.sha256(
        f"{request.method} {request.path}?{request.META.get('QUERY_STRING', '')}".encode()
    )
    if request.content_type == "multipart/form-data":
        for name, value in sorted(request.POST.items()):
            digest.update(f"{name}={value}".encode())
        for name, upload in sorted(request.FILES.items()):
            digest.update(name.encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    else:
        digest.update(request.body)
    return digest.hexdigest()


UNREADABLE_UPLOADS = (MultiPartParserError, TooManyFilesSent, TooManyFieldsSent, RequestDataTooBig)


def _unreadable_upload(request, exc):
    """Django raises these while it reads an upload, before any view runs."""
    return _error(request, 422, "malformed_body", f"The upload could not be read: {exc}")


for _exception in UNREADABLE_UPLOADS:
    api.add_exception_handler(_exception, _unreadable_upload)


def idempotent(view):
    """Stripe's Idempotency-Key: the first answer to a key is stored with the
    business write, in its transaction, and replayed to the same key and body for
    24 hours; the same key with another body is a 409."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(request, *args, **kwargs)
        if len(key) > 255:
            raise Invalid("idempotency_key_invalid", "An Idempotency-Key has at most 255 characters.")
        site = request.site
        digest = request_fingerprint(request)
        since = clock.now() - IDEMPOTENCY_WINDOW
        record = IdempotencyRecord.objects.filter(site=site, key=key).first()
        if record is not None and record.created_at >= since:
            if record.body_hash != digest:
                raise Conflict(
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used with a different request in the last 24 hours.",
                )
            return Status(record.status_code, record.response)
        with transaction.atomic():
            if record is not None:
                record.delete()
            result = view(request, *args, **kwargs)
            stored = DjangoJSONEncoder().encode(result.value)
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(
                        site=site,
                        key=key,
                        method=request.method,
                        path=request.path,
                        body_hash=digest,
                        status_code=result.status_code,
                        response=json.loads(stored),
                        created_at=clock.now(),
                    )
            except IntegrityError as error:
                raise Conflict(
                    "idempotency_key_in_use", "Another request with this Idempotency-Key is being processed."
                ) from error
        return result

    return wrapper


def mount() -> NinjaAPI:
    from vouch.campaigns.api import router as campaigns
    from vouch.emails.api import router as emails
    from vouch.events.api import router as events
    from vouch.people.api import router as people
    from vouch.people.privacy_api import router as privacy
    from vouch.referrals.api import router as referrals
    from vouch.referrals.import_api import router as referral_import
    from vouch.rewards.api import router as rewards
    from vouch.shares.api import router as shares
    from vouch.webhooks.api import router as webhooks

    for router in (
        events,
        shares,
        people,
        privacy,
        referral_import,
        referrals,
        rewards,
        campaigns,
        emails,
        webhooks,
    ):
        api.add_router("", router)
    return api
