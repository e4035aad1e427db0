from django.db import models

from vouch.sites.models import Site


class Campaign(models.Model):
    """A site's referral program. `definition` holds the validated JSON form
    (see `vouch.campaigns.definition.CampaignDefinition`); `pipeline` is copied out
    of it because queries filter on it."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="campaigns")
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    pipeline = models.CharField(max_length=40)
    status = models.CharField(max_length=10, default="active")
    definition = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "slug"], name="campaign_slug_per_site")]

    def __str__(self) -> str:
        return self.slug
