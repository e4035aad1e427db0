import hashlib
import secrets

from django.conf import settings
from django.db import models


class Site(models.Model):
    """A tenant: a merchant or brand. Every other row belongs to exactly one site."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.slug


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_api_key_secret() -> tuple[str, str]:
    """A new key as (prefix, full key). Only the hash of the full key is stored."""
    prefix = secrets.token_hex(4)
    return prefix, f"vk_{prefix}_{secrets.token_urlsafe(32)}"


class ApiKey(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16)
    hashed = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.site.slug}:{self.prefix}"


class Role(models.TextChoices):
    ADMIN = "admin"
    AGENT = "agent"
    VIEWER = "viewer"


class Membership(models.Model):
    """A staff user's role on one site."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "user"], name="membership_one_per_site")]
