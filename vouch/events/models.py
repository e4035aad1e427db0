from django.db import models

from vouch.campaigns.models import Campaign
from vouch.people.models import Person
from vouch.sites.models import Site


class Kind(models.TextChoices):
    PURCHASE = "purchase"
    SIGNUP = "signup"
    REFUND = "refund"
    CUSTOM = "custom"


class Event(models.Model):
    """What a site reported. Idempotent by (site, kind, external id): `body_hash`
    tells a replay (same body) from a conflicting resend, and `result` is the answer
    given the first time, replayed verbatim."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    external_id = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="events")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL)
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    coupon_codes = models.JSONField(default=list, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    visitor_uuid = models.CharField(max_length=64, blank=True)
    shipping_address = models.CharField(max_length=500, blank=True)
    customer_id = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=100, blank=True)
    order_id = models.CharField(max_length=200, blank=True)
    result = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "kind", "external_id"], name="event_once_per_external_id")
        ]
        indexes = [
            models.Index(fields=["site", "person", "occurred_at"], name="event_person_time"),
            models.Index(fields=["site", "external_id"], name="event_external_id"),
        ]
