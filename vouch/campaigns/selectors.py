from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.models import Campaign
from vouch.errors import NotFound
from vouch.sites.models import Site

_parsed: dict[tuple, CampaignDefinition] = {}


def campaign_definition(campaign: Campaign) -> CampaignDefinition:
    """The campaign's validated definition, parsed once per campaign version
    (`campaign_update` bumps the version, so a cached parse is never stale)."""
    key = (campaign.pk, campaign.version, campaign.created_at)
    if key not in _parsed:
        if len(_parsed) > 1000:
            _parsed.clear()
        _parsed[key] = CampaignDefinition.model_validate(campaign.definition)
    return _parsed[key]


def campaign_for_site(*, site: Site, slug: str) -> Campaign:
    campaign = Campaign.objects.filter(site=site, slug=slug).first()
    if campaign is None:
        raise NotFound("campaign_not_found", f"No campaign '{slug}' on this site.")
    return campaign


def campaign_search(*, site: Site, query: str = "", limit: int = 20) -> list[Campaign]:
    campaigns = Campaign.objects.filter(site=site).order_by("name")
    if query:
        campaigns = campaigns.filter(name__icontains=query) | campaigns.filter(slug__icontains=query)
    return list(campaigns[:limit])
