from django.db import models

from vouch.campaigns.models import Campaign
from vouch.people.models import Person
from vouch.shares.models import Offer, Share
from vouch.sites.models import Site


class AttributedBy(models.TextChoices):
    COUPON_CODE = "coupon_code"
    VISITOR_UUID = "visitor_uuid"
    EMAIL = "email"
    IP = "ip"
    MANUAL = "manual"


class Actor(models.TextChoices):
    ENGINE = "engine"
    STAFF = "staff"
    API = "api"
    IMPORT = "import"
    RULE = "rule"


class Referral(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="referrals")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="referrals")
    advocate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="referrals_made")
    friend = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="referrals_received"
    )
    share = models.ForeignKey(
        Share, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    offer = models.ForeignKey(
        Offer, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    status = models.CharField(max_length=40)
    clicked = models.BooleanField(default=False)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    order_number = models.CharField(max_length=200, blank=True)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    refunded = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, blank=True)
    coupon_code = models.CharField(max_length=255, blank=True)
    attributed_by = models.CharField(max_length=20, choices=AttributedBy.choices)
    created_at = models.DateTimeField()
    status_changed_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="referral_external_id_per_site",
            )
        ]
        indexes = [
            models.Index(fields=["site", "status"], name="referral_status"),
            # The queue: one status, oldest in it first.
            models.Index(fields=["site", "status", "status_changed_at"], name="referral_queue"),
            models.Index(fields=["site", "campaign", "status"], name="referral_campaign_status"),
            models.Index(fields=["site", "order_number"], name="referral_order_number"),
            models.Index(fields=["site", "coupon_code"], name="referral_coupon_code"),
            models.Index(fields=["site", "advocate", "created_at"], name="referral_advocate_time"),
            models.Index(fields=["site", "friend"], name="referral_friend"),
        ]


class StatusChange(models.Model):
    """One step of a referral's status history: from, to, who, why, when."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=40, blank=True)
    to_status = models.CharField(max_length=40)
    actor = models.CharField(max_length=10, choices=Actor.choices)
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]


class TimedStep(models.Model):
    """A transition the worker takes once `due_at` passes, if the referral is still
    in `from_status` (otherwise it is closed as skipped). A due row with a lease."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="timed_steps")
    from_status = models.CharField(max_length=40)
    to_status = models.CharField(max_length=40)
    reason = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["done_at", "due_at"], name="timedstep_due")]


class ImportBatch(models.Model):
    """An applied bulk status-update CSV: who ran it, its summary, the changes it made
    (`ImportChange`), and when it was undone. `batch_id` is the id in each change's history
    and audit label ("CSV import <batch_id>")."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="import_batches")
    batch_id = models.CharField(max_length=12, unique=True)
    actor = models.CharField(max_length=10, choices=Actor.choices)
    actor_label = models.CharField(max_length=200, blank=True)
    key_column = models.CharField(max_length=40)
    summary = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)


class ImportChange(models.Model):
    """One status change an import made, kept so the batch can be undone."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="changes")
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="import_changes")
    line = models.PositiveIntegerField()
    from_status = models.CharField(max_length=40)
    to_status = models.CharField(max_length=40)

    class Meta:
        ordering = ["id"]
