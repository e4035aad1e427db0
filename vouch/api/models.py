from django.db import models

from vouch.sites.models import Site


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an `Idempotency-Key` (Stripe's meaning):
    replayed for 24 hours to the same key and body; another body is a conflict."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "key"], name="idempotency_key_per_site")]
