from django.db import models

from vouch.people.models import Person
from vouch.sites.models import Site


class Status(models.TextChoices):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    REJECTED = "rejected"
    NOT_SENT = "not_sent"


class Email(models.Model):
    """One message to a person, written in the business transaction (`queued`) and
    sent by the worker: a due row with a lease."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="emails")
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    type = models.CharField(max_length=60)
    to = models.CharField(max_length=254)
    from_address = models.CharField(max_length=254)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=200, blank=True)
    resent_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], name="email_due"),
            models.Index(fields=["site", "person", "created_at"], name="email_person_time"),
            models.Index(fields=["message_id"], name="email_message_id"),
        ]


class EmailTemplate(models.Model):
    """An admin's override of an email type's subject, HTML and text: for one campaign,
    or site-wide when `campaign` is empty. Types without a default are a campaign's
    own emails, sent by the rule action "email only"."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="email_templates")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="email_templates"
    )
    type = models.CharField(max_length=60)
    subject = models.CharField(max_length=300)
    html = models.TextField(blank=True)
    text = models.TextField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "campaign", "type"],
                condition=models.Q(campaign__isnull=False),
                name="email_template_per_campaign",
            ),
            models.UniqueConstraint(
                fields=["site", "type"],
                condition=models.Q(campaign__isnull=True),
                name="email_template_per_site",
            ),
        ]
