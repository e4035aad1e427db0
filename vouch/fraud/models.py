from django.db import models

from vouch.sites.models import Site


class FraudResult(models.Model):
    """One fraud check's result for a referral, stored when decided."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="fraud_results")
    fraud_check = models.CharField(max_length=40)
    outcome = models.CharField(max_length=5)
    hit = models.BooleanField(default=False)
    message = models.TextField(blank=True)
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["referral", "fraud_check"], name="fraud_result_once_per_check")
        ]
        ordering = ["id"]


class BlacklistEntry(models.Model):
    """An email pattern (wildcards * and ?), a domain, or an IP address or range."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="blacklist")
    kind = models.CharField(max_length=10, choices=[("email", "email"), ("domain", "domain"), ("ip", "ip")])
    value = models.CharField(max_length=254)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "kind", "value"], name="blacklist_entry_once")]
