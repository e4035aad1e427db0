from django.conf import settings
from django.db import models

from vouch.sites.models import ApiKey, Site


class AuditEntry(models.Model):
    """Who (staff user, API key, engine, import) did what to which object, when,
    from where, before → after."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.CharField(max_length=10)
    actor_label = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["site", "object_type", "object_id"], name="audit_object")]
        ordering = ["created_at", "id"]
