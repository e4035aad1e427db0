import json

from ninja import Header, Path, Query, Router, Status

from vouch.api.main import ERRORS, idempotent
from vouch.webhooks.models import Delivery, Endpoint
from vouch.webhooks.schemas import (
    DeliveryOut,
    DeliveryPageOut,
    DeliveryQuery,
    EndpointIn,
    EndpointOut,
    EndpointUpdateIn,
    ReplayIn,
    ReplayOut,
)
from vouch.webhooks.selectors import (
    webhook_deliveries,
    webhook_delivery_for_endpoint,
    webhook_endpoint_for_site,
    webhook_endpoints,
)
from vouch.webhooks.services import (
    webhook_body,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_replay,
    webhook_endpoint_update,
)

router = Router(tags=["webhooks"])
ID = Path(..., ge=1, le=2**62)


def _endpoint_shape(endpoint: Endpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "active": endpoint.active,
        "description": endpoint.description,
        "secret": endpoint.secret,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def _delivery_shape(delivery: Delivery) -> dict:
    return {
        "id": delivery.pk,
        "endpoint": delivery.endpoint_id,
        "event": json.loads(webhook_body(delivery.event)),
        "status": delivery.status,
        "redelivery_of": delivery.redelivery_of_id,
        "created_at": delivery.created_at,
        "finished_at": delivery.finished_at,
        "next_attempt_at": delivery.due_at if delivery.status == "pending" else None,
        "last_error": delivery.last_error,
        "attempts": [
            {
                "started_at": a.started_at,
                "finished_at": a.finished_at,
                "response_code": a.response_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in sorted(delivery.attempt_log.all(), key=lambda a: (a.started_at, a.pk))
        ],
    }


@router.post("/webhooks", response={201: EndpointOut, **ERRORS})
@idempotent
def create_webhook_endpoint(
    request, payload: EndpointIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    """Add an endpoint: Vouch POSTs the subscribed events to it, signed with its `secret`
    in the `Vouch-Signature` header (`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`)."""
    endpoint = webhook_endpoint_create(
        site=request.site,
        url=payload.url,
        event_types=list(payload.event_types),
        active=payload.active,
        description=payload.description,
        actor=request.actor,
    )
    return Status(201, _endpoint_shape(endpoint))


@router.get("/webhooks", response={200: list[EndpointOut], **ERRORS})
def list_webhook_endpoints(request):
    return Status(200, [_endpoint_shape(e) for e in webhook_endpoints(site=request.site)])


@router.get("/webhooks/{endpoint_id}", response={200: EndpointOut, **ERRORS})
def get_webhook_endpoint(request, endpoint_id: int = ID):
    return Status(200, _endpoint_shape(webhook_endpoint_for_site(site=request.site, endpoint_id=endpoint_id)))


@router.put("/webhooks/{endpoint_id}", response={200: EndpointOut, **ERRORS})
@idempotent
def update_webhook_endpoint(
    request,
    payload: EndpointUpdateIn,
    endpoint_id: int = ID,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Replace the endpoint's URL, event types, active flag and description; optionally rotate its secret."""
    endpoint = webhook_endpoint_for_site(site=request.site, endpoint_id=endpoint_id)
    endpoint = webhook_endpoint_update(
        endpoint=endpoint,
        url=payload.url,
        event_types=list(payload.event_types),
        active=payload.active,
        description=payload.description,
        rotate_secret=payload.rotate_secret,
        actor=request.actor,
    )
    return Status(200, _endpoint_shape(endpoint))


@router.delete("/webhooks/{endpoint_id}", response={204: None, **ERRORS})
def delete_webhook_endpoint(request, endpoint_id: int = ID):
    """Remove the endpoint and its deliveries."""
    endpoint = webhook_endpoint_for_site(site=request.site, endpoint_id=endpoint_id)
    webhook_endpoint_delete(endpoint=endpoint, actor=request.actor)
    return Status(204, None)


@router.get("/webhooks/{endpoint_id}/deliveries", response={200: DeliveryPageOut, **ERRORS})
def list_webhook_deliveries(request, filters: Query[DeliveryQuery], endpoint_id: int = ID):
    """The endpoint's deliveries, newest first, each with the body sent and its attempts
    (time, response code, error, duration)."""
    endpoint = webhook_endpoint_for_site(site=request.site, endpoint_id=endpoint_id)
    found = webhook_deliveries(endpoint=endpoint, status=filters.status)
    page = list(found[filters.offset : filters.offset + filters.limit])
    return Status(
        200,
        {
            "items": [_delivery_shape(d) for d in page],
            "count": found.count(),
            "limit": filters.limit,
            "offset": filters.offset,
        },
    )


@router.post(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver", response={201: DeliveryOut, **ERRORS}
)
@idempotent
def redeliver_webhook(
    request,
    endpoint_id: int = ID,
    delivery_id: int = ID,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Send the delivery's event again as a new delivery (with its own retries) pointing to the first."""
    endpoint = webhook_endpoint_for_site(site=request.site, endpoint_id=endpoint_id)
    delivery = webhook_delivery_for_endpoint(endpoint=endpoint, delivery_id=delivery_id)
    copy = webhook_delivery_redeliver(delivery=delivery, actor=request.actor)
    copy = webhook_delivery_for_endpoint(endpoint=endpoint, delivery_id=copy.pk)
    return Status(201, _delivery_shape(copy))


@router.post("/webhooks/{endpoint_id}/replay", response={202: ReplayOut, **ERRORS})
@idempotent
def replay_webhooks(
    request,
    payload: ReplayIn,
    endpoint_id: int = ID,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Queue again, as new deliveries, every stored event from `from` (included) to `to`
    (excluded) that the endpoint subscribes to."""
    endpoint = webhook_endpoint_for_site(site=request.site, endpoint_id=endpoint_id)
    count = webhook_endpoint_replay(
        endpoint=endpoint, since=payload.since, until=payload.until, actor=request.actor
    )
    return Status(202, {"deliveries": count})
