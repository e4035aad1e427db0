from django.db import transaction
from django.utils import timezone

from vouch.errors import Conflict
from vouch.sites.models import ApiKey, Site, hash_api_key, new_api_key_secret


def site_create(*, slug: str, name: str = "") -> Site:
    with transaction.atomic():
        if Site.objects.filter(slug=slug).exists():
            raise Conflict("site_exists", f"A site '{slug}' already exists.")
        return Site.objects.create(slug=slug, name=name or slug)


def api_key_create(*, site: Site, name: str = "default") -> tuple[ApiKey, str]:
    """A new key for the site. The raw key is returned once; only its hash is stored."""
    prefix, raw = new_api_key_secret()
    key = ApiKey.objects.create(site=site, name=name, prefix=prefix, hashed=hash_api_key(raw))
    return key, raw


def api_key_authenticate(raw: str) -> ApiKey | None:
    key = (
        ApiKey.objects.select_related("site")
        .filter(hashed=hash_api_key(raw or ""), revoked_at__isnull=True)
        .first()
    )
    if key is not None and (
        key.last_used_at is None or (timezone.now() - key.last_used_at).total_seconds() > 60
    ):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key
