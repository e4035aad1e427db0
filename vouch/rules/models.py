from django.db import models

from vouch.sites.models import Site


class Decision(models.Model):
    """One evaluation of one rule for one referral: the decision trace.

    Stored when it is made, with the inputs the condition and criteria read, so
    "why didn't Stephanie get her reward?" is answered from data, not re-computed
    under rules that may have changed since."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="decisions")
    advocate = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("events.Event", null=True, blank=True, on_delete=models.SET_NULL)
    rule_id = models.CharField(max_length=64)
    rule_version = models.PositiveIntegerField()
    trigger = models.CharField(max_length=40)
    condition = models.TextField(blank=True)
    condition_met = models.BooleanField()
    error = models.TextField(blank=True)
    actions = models.JSONField(default=list)
    inputs = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["referral", "id"], name="decision_referral"),
            models.Index(fields=["site", "advocate", "rule_id"], name="decision_rule_firings"),
        ]
