"""Every write to outbound webhooks: publishing events, endpoints, deliveries.

Publishing writes rows only (the event and one delivery per subscribed endpoint; no
row when no endpoint lists the event's type) in the caller's transaction, so a
rolled-back business write publishes nothing and no request leaves before the
commit: the worker sends the deliveries afterwards.
"""

import http.client
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.errors import Invalid
from vouch.read_cache import cached
from vouch.sites.models import Site
from vouch.webhooks.models import (
    EVENT_TYPES,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Endpoint,
    WebhookEvent,
)
from vouch.webhooks.signing import HEADER, signature_header

_encoder = DjangoJSONEncoder()


def _json_safe(data: dict) -> dict:
    """Dates, decimals and UUIDs as the JSON a receiver gets, fixed at publish time."""
    return json.loads(_encoder.encode(data))


def _endpoints(site_id: int) -> tuple[Endpoint, ...]:
    """The site's endpoints, active or not; read once per ingest (`vouch.read_cache`)."""
    return cached(
        ("webhook_endpoints", site_id),
        lambda: tuple(Endpoint.objects.filter(site_id=site_id).order_by("id")),
    )


def webhook_publish(*, site_id: int, type: str, data: dict) -> None:
    """Record that `type` happened on the site and queue it for every active endpoint
    subscribed to it. Call it inside the business transaction: it adds no savepoint of
    its own there. An event no endpoint of the site lists (active or paused) is not
    stored: nobody could be sent it, and a replay only sends again what endpoints
    subscribed to. So it costs the endpoints lookup (once per ingest), plus the event
    and its deliveries (two inserts) when some endpoint subscribes."""
    webhook_publish_many(site_id=site_id, type=type, data=[data])


def webhook_publish_many(*, site_id: int, type: str, data: list[dict]) -> None:
    """`webhook_publish` of several events of one type (a bulk status change): still two
    inserts, the events and their deliveries, or none."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {type!r}; known: {', '.join(EVENT_TYPES)}.")
    listing = [endpoint for endpoint in _endpoints(site_id) if type in endpoint.event_types]
    if not listing or not data:
        return
    with transaction.atomic(savepoint=False):
        now = clock.now()
        events = WebhookEvent.objects.bulk_create(
            WebhookEvent(
                site_id=site_id,
                uid=f"evt_{uuid.uuid4().hex}",
                type=type,
                data=_json_safe(one),
                created_at=now,
            )
            for one in data
        )
        endpoints = [endpoint for endpoint in listing if endpoint.subscribes_to(type)]
        if endpoints:
            Delivery.objects.bulk_create(
                Delivery(site_id=site_id, event=event, endpoint=endpoint, created_at=now, due_at=now)
                for event in events
                for endpoint in endpoints
            )


def webhook_secret_new() -> str:
    return f"whsec_{secrets.token_hex(24)}"


# Retries: 9 attempts, each wait 4× the one before, capped at a day (1 min, 4 min,
# 16 min, ~1 h, ~4 h, ~17 h, 24 h, 24 h), so the last attempt comes about 71 hours
# (3 days) after the first, as Stripe does, before the delivery is marked failed.
MAX_ATTEMPTS = 9
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=24)
REPLAY_LIMIT = 10_000
INTERRUPTED_ATTEMPT = "The worker stopped during this request; the receiver may or may not have got it."


def webhook_retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return min(FIRST_RETRY * 4 ** max(attempts - 1, 0), LONGEST_WAIT)


def webhook_body(event: WebhookEvent) -> bytes:
    """The JSON a receiver gets; the same bytes on every attempt of every delivery."""
    envelope = {
        "id": event.uid,
        "type": event.type,
        "version": 1,
        "created_at": event.created_at,
        "site": event.site.slug,
        "data": event.data,
    }
    return _encoder.encode(envelope).encode()


@dataclass(frozen=True)
class PostResult:
    code: int | None
    error: str
    duration_ms: int


def webhook_post(*, url: str, secret: str, body: bytes, event_uid: str, delivery_id: int) -> PostResult:
    """One signed POST with a short timeout. Any answer but 2xx, and any network error,
    is a failed attempt; a redirect is not followed (a receiver gives its final URL)."""
    timestamp = int(clock.now().timestamp())
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Vouch-Webhooks/1",
            HEADER: signature_header(secret=secret, body=body, timestamp=timestamp),
            "Vouch-Event-Id": event_uid,
            "Vouch-Delivery-Id": str(delivery_id),
        },
    )
    opener = urllib.request.build_opener(_NoRedirect)
    started = time.monotonic()
    code, error = None, ""
    try:
        with opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            code = response.status
            response.read(1024)
    except urllib.error.HTTPError as answer:
        code, error = answer.code, f"HTTP {answer.code}"
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as failure:
        error = f"{type(failure).__name__}: {getattr(failure, 'reason', failure)}"[:2000]
    duration = int((time.monotonic() - started) * 1000)
    if code is not None and not 200 <= code < 300 and not error:
        error = f"HTTP {code}"
    return PostResult(code=code, error=error, duration_ms=duration)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    """Make one attempt at a delivery, at most one request per attempt row.

    The attempt row is written and committed before the request leaves; the request
    runs outside any transaction; the outcome is written after. An attempt found
    without an outcome belongs to a worker that died mid-request: it is closed as
    interrupted and this attempt goes ahead, because a receiver deduplicates on the
    event id and a missed webhook is worse than a repeated one.
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("endpoint", "event__site")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return "already done"
        now = clock.now()
        DeliveryAttempt.objects.filter(delivery=delivery, finished_at__isnull=True).update(
            finished_at=now, error=INTERRUPTED_ATTEMPT
        )
        if not delivery.endpoint.active:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED,
                finished_at=now,
                due_at=None,
                locked_until=None,
                last_error="The endpoint was disabled.",
            )
            return "endpoint disabled"
        attempt = DeliveryAttempt.objects.create(delivery=delivery, started_at=now)
    result = webhook_post(
        url=delivery.endpoint.url,
        secret=delivery.endpoint.secret,
        body=webhook_body(delivery.event),
        event_uid=delivery.event.uid,
        delivery_id=delivery.pk,
    )
    with transaction.atomic():
        now = clock.now()
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, response_code=result.code, error=result.error, duration_ms=result.duration_ms
        )
        made = DeliveryAttempt.objects.filter(delivery_id=delivery.pk).count()
        pending = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING)
        if not result.error:
            pending.update(
                status=DeliveryStatus.SUCCEEDED,
                finished_at=now,
                due_at=None,
                locked_until=None,
                last_error="",
            )
            return f"delivered ({result.code})"
        if made >= MAX_ATTEMPTS:
            pending.update(
                status=DeliveryStatus.FAILED,
                finished_at=now,
                due_at=None,
                locked_until=None,
                last_error=result.error,
            )
            return f"failed after {made} attempts: {result.error}"
        due = now + webhook_retry_delay(made)
        pending.update(due_at=due, locked_until=None, last_error=result.error)
        return f"attempt {made} failed ({result.error}); next attempt at {due.isoformat()}"


def _clean_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise Invalid(
            "webhook_event_type_unknown",
            f"Unknown event type {unknown[0]!r}; choose from {', '.join(EVENT_TYPES)}.",
            details=[{"field": "event_types", "message": f"unknown: {', '.join(unknown)}"}],
        )
    if not event_types:
        raise Invalid(
            "webhook_event_types_empty",
            "Subscribe the endpoint to at least one event type.",
            details=[{"field": "event_types", "message": "must not be empty"}],
        )
    return [t for t in EVENT_TYPES if t in event_types]


def _clean_url(url: str) -> str:
    try:
        parsed = urllib.parse.urlsplit(url.strip())
        hostname = parsed.hostname
    except ValueError:
        hostname = None
    if not hostname or parsed.scheme not in ("http", "https"):
        raise Invalid(
            "webhook_url_invalid",
            "The endpoint URL must be an absolute http:// or https:// address.",
            details=[{"field": "url", "message": "must be an http or https URL"}],
        )
    return url.strip()


def _endpoint_state(endpoint: Endpoint) -> dict:
    return {
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "active": endpoint.active,
        "description": endpoint.description,
    }


def webhook_endpoint_create(
    *,
    site: Site,
    url: str,
    event_types: list[str],
    actor: ActorRef,
    active: bool = True,
    description: str = "",
) -> Endpoint:
    with transaction.atomic():
        now = clock.now()
        endpoint = Endpoint.objects.create(
            site=site,
            url=_clean_url(url),
            secret=webhook_secret_new(),
            event_types=_clean_event_types(event_types),
            active=active,
            description=description,
            created_at=now,
            updated_at=now,
        )
        audit_record(
            site=site,
            actor=actor,
            action="webhook_endpoint.create",
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            after=_endpoint_state(endpoint),
        )
        return endpoint


def webhook_endpoint_update(
    *,
    endpoint: Endpoint,
    actor: ActorRef,
    url: str | None = None,
    event_types: list[str] | None = None,
    active: bool | None = None,
    description: str | None = None,
    rotate_secret: bool = False,
) -> Endpoint:
    """Change what is given; `rotate_secret` issues a new secret (the old one stops at once)."""
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _endpoint_state(endpoint)
        if url is not None:
            endpoint.url = _clean_url(url)
        if event_types is not None:
            endpoint.event_types = _clean_event_types(event_types)
        if active is not None:
            endpoint.active = active
        if description is not None:
            endpoint.description = description
        if rotate_secret:
            endpoint.secret = webhook_secret_new()
        endpoint.updated_at = clock.now()
        endpoint.save()
        audit_record(
            site=endpoint.site,
            actor=actor,
            action="webhook_endpoint.update",
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            before=before,
            after={**_endpoint_state(endpoint), "secret_rotated": rotate_secret},
        )
        return endpoint


def webhook_endpoint_delete(*, endpoint: Endpoint, actor: ActorRef) -> None:
    """Remove the endpoint with its deliveries; the stored events stay for other endpoints."""
    with transaction.atomic():
        audit_record(
            site=endpoint.site,
            actor=actor,
            action="webhook_endpoint.delete",
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            before=_endpoint_state(endpoint),
        )
        endpoint.delete()


def webhook_delivery_redeliver(*, delivery: Delivery, actor: ActorRef) -> Delivery:
    """Send a delivery's event to its endpoint again, as a new delivery with a fresh retry
    schedule that points to the first."""
    with transaction.atomic():
        now = clock.now()
        copy = Delivery.objects.create(
            site_id=delivery.site_id,
            event_id=delivery.event_id,
            endpoint_id=delivery.endpoint_id,
            redelivery_of=delivery,
            created_at=now,
            due_at=now,
        )
        audit_record(
            site=delivery.site,
            actor=actor,
            action="webhook_delivery.redeliver",
            object_type="webhook_delivery",
            object_id=copy.pk,
            after={"redelivery_of": delivery.pk, "event": delivery.event.uid},
        )
        return copy


def webhook_endpoint_replay(*, endpoint: Endpoint, since: datetime, until: datetime, actor: ActorRef) -> int:
    """Queue again every stored event of the time range [since, until) that the endpoint
    subscribes to, oldest first, as new deliveries; returns how many (an empty range
    queues none)."""
    with transaction.atomic():
        events = list(
            WebhookEvent.objects.filter(
                site_id=endpoint.site_id,
                created_at__gte=since,
                created_at__lt=until,
                type__in=endpoint.event_types,
            )
            .order_by("created_at", "id")
            .values_list("id", flat=True)[: REPLAY_LIMIT + 1]
        )
        if len(events) > REPLAY_LIMIT:
            raise Invalid(
                "replay_range_too_large",
                f"More than {REPLAY_LIMIT} events in this range; replay a shorter one.",
                details=[{"field": "from", "message": "range too large"}],
            )
        now = clock.now()
        Delivery.objects.bulk_create(
            Delivery(
                site_id=endpoint.site_id, event_id=event_id, endpoint=endpoint, created_at=now, due_at=now
            )
            for event_id in events
        )
        audit_record(
            site=endpoint.site,
            actor=actor,
            action="webhook_endpoint.replay",
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            after={"from": since.isoformat(), "to": until.isoformat(), "deliveries": len(events)},
        )
        return len(events)
