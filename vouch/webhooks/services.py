"""Every write to outbound webhooks: publishing events, endpoints, deliveries.

Publishing writes rows only (the event and one delivery per subscribed endpoint) in
the caller's transaction, so a rolled-back business write publishes nothing and no
request leaves before the commit: the worker sends the deliveries afterwards.
"""

import json
import secrets
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from vouch import clock
from vouch.webhooks.models import EVENT_TYPES, Delivery, Endpoint, WebhookEvent

_encoder = DjangoJSONEncoder()


def _json_safe(data: dict) -> dict:
    """Dates, decimals and UUIDs as the JSON a receiver gets, fixed at publish time."""
    return json.loads(_encoder.encode(data))


def webhook_publish(*, site_id: int, type: str, data: dict) -> None:
    """Record that `type` happened on the site and queue it for every active endpoint
    subscribed to it. Call it inside the business transaction."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {type!r}; known: {', '.join(EVENT_TYPES)}.")
    with transaction.atomic():
        now = clock.now()
        event = WebhookEvent.objects.create(
            site_id=site_id,
            uid=f"evt_{uuid.uuid4().hex}",
            type=type,
            data=_json_safe(data),
            created_at=now,
        )
        active = Endpoint.objects.filter(site_id=site_id, active=True).order_by("id")
        endpoints = [endpoint for endpoint in active if endpoint.subscribes_to(type)]
        Delivery.objects.bulk_create(
            Delivery(site_id=site_id, event=event, endpoint=endpoint, created_at=now, due_at=now)
            for endpoint in endpoints
        )


def webhook_secret_new() -> str:
    return f"whsec_{secrets.token_hex(24)}"
