"""Outbound webhooks: a site's endpoints, the events Vouch publishes, and one
delivery row per (event, endpoint) that the worker sends with retries."""

from django.db import models

from vouch.sites.models import Site

EVENT_TYPES = (
    "referral.status_changed",
    "reward.given",
    "reward.blocked",
    "email.status_changed",
    "coupon_list.low_stock",
)


class Endpoint(models.Model):
    """Where a site wants events posted, signed with the endpoint's own secret."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2000)
    secret = models.CharField(max_length=100)
    event_types = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["site", "active"], name="webhook_endpoint_site")]

    def subscribes_to(self, type: str) -> bool:
        return self.active and type in self.event_types


class WebhookEvent(models.Model):
    """What happened, stored once so that it can be delivered, redelivered and replayed."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="webhook_events")
    uid = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=60)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["site", "created_at"], name="webhook_event_time")]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Delivery(models.Model):
    """One event for one endpoint: a due row the worker sends until the receiver
    answers 2xx or the retry schedule runs out."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], name="webhook_delivery_due"),
            models.Index(fields=["site", "endpoint", "created_at"], name="webhook_delivery_endpoint"),
        ]


class DeliveryAttempt(models.Model):
    """One HTTP request to a receiver. It is written and committed before the request
    leaves, so a worker that dies mid-request leaves an attempt without a result
    instead of a request nobody knows about."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["delivery", "started_at"], name="webhook_attempt_time")]
