from django.conf import settings
from django.db import models

from vouch.sites.models import Site


class LoginFailure(models.Model):
    """A failed portal login, kept to lock a username out from one address after
    too many failures (see `vouch.portal.services.LOCKOUT_FAILURES`)."""

    username = models.CharField(max_length=150)
    ip = models.CharField(max_length=45, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["username", "ip", "created_at"], name="login_failure_recent")]


class ImportUpload(models.Model):
    """A bulk status-update CSV kept between its preview and its confirmation, so what is
    applied is exactly the file that was previewed. Applied at most once (`applied_at`)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="import_uploads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    filename = models.CharField(max_length=255, blank=True)
    content = models.TextField()
    created_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
