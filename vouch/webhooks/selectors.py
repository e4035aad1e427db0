from django.db.models import QuerySet

from vouch.errors import NotFound
from vouch.sites.models import Site
from vouch.webhooks.models import Delivery, Endpoint


def webhook_endpoint_for_site(*, site: Site, endpoint_id: int) -> Endpoint:
    endpoint = Endpoint.objects.filter(site=site, pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("webhook_endpoint_not_found", f"No webhook endpoint {endpoint_id} on this site.")
    return endpoint


def webhook_endpoints(*, site: Site) -> list[Endpoint]:
    return list(Endpoint.objects.filter(site=site).order_by("id"))


def webhook_delivery_for_endpoint(*, endpoint: Endpoint, delivery_id: int) -> Delivery:
    delivery = (
        Delivery.objects.select_related("event", "site").filter(endpoint=endpoint, pk=delivery_id).first()
    )
    if delivery is None:
        raise NotFound("webhook_delivery_not_found", f"No delivery {delivery_id} for this endpoint.")
    return delivery


def webhook_deliveries(*, endpoint: Endpoint, status: str = "") -> QuerySet[Delivery]:
    """The endpoint's deliveries, newest first, each with its event and its attempt log."""
    deliveries = (
        Delivery.objects.filter(site_id=endpoint.site_id, endpoint=endpoint)
        .select_related("event")
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-id")
    )
    return deliveries.filter(status=status) if status else deliveries
