from django.db import transaction

from vouch.audit.services import ActorRef, audit_record
from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.models import Campaign
from vouch.errors import Conflict
from vouch.rewards.services import coupon_list_get_or_create
from vouch.sites.models import Site


def campaign_create(*, site: Site, definition: CampaignDefinition, actor: ActorRef) -> Campaign:
    """Create a campaign from its validated JSON form; coupon lists it names are created empty if new."""
    with transaction.atomic():
        if Campaign.objects.filter(site=site, slug=definition.slug).exists():
            raise Conflict("campaign_exists", f"A campaign '{definition.slug}' already exists on this site.")
        for slug in definition.coupon_list_slugs():
            coupon_list_get_or_create(site_id=site.pk, slug=slug)
        stored = definition.model_dump(mode="json")
        campaign = Campaign.objects.create(
            site=site,
            slug=definition.slug,
            name=definition.name,
            pipeline=definition.pipeline,
            status=definition.status,
            definition=stored,
        )
        audit_record(
            site=site,
            actor=actor,
            action="campaign.create",
            object_type="campaign",
            object_id=campaign.pk,
            after=stored,
        )
        return campaign


def campaign_update(*, campaign: Campaign, definition: CampaignDefinition, actor: ActorRef) -> Campaign:
    """Replace a campaign's definition. Its slug is fixed, and its pipeline too once it has referrals."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if definition.slug != campaign.slug:
            raise Conflict("campaign_slug_fixed", "A campaign's slug cannot change.")
        if definition.pipeline != campaign.pipeline and campaign.referrals.exists():
            raise Conflict(
                "pipeline_fixed",
                f"The campaign has referrals, so its pipeline cannot change from {campaign.pipeline} "
                f"to {definition.pipeline}.",
            )
        for slug in definition.coupon_list_slugs():
            coupon_list_get_or_create(site_id=campaign.site_id, slug=slug)
        before = campaign.definition
        campaign.definition = definition.model_dump(mode="json")
        campaign.name, campaign.pipeline, campaign.status = (
            definition.name,
            definition.pipeline,
            definition.status,
        )
        campaign.version += 1
        campaign.save()
        audit_record(
            site=campaign.site,
            actor=actor,
            action="campaign.update",
            object_type="campaign",
            object_id=campaign.pk,
            before=before,
            after=campaign.definition,
        )
        return campaign
