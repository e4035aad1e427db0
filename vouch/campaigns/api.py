from ninja import Header, Path, Router, Status

from vouch.api.main import ERRORS, idempotent
from vouch.api.schemas import CampaignOut
from vouch.api.shapes import campaign_shape
from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.selectors import campaign_for_site, campaign_search
from vouch.campaigns.services import campaign_create, campaign_update

router = Router(tags=["campaigns"])
SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"


@router.get("/campaigns", response={200: list[CampaignOut], **ERRORS}, by_alias=True)
def list_campaigns(request, q: str = ""):
    return Status(
        200, [campaign_shape(c) for c in campaign_search(site=request.site, query=q[:200], limit=500)]
    )


@router.post("/campaigns", response={201: CampaignOut, **ERRORS}, by_alias=True)
@idempotent
def create_campaign(
    request, payload: CampaignDefinition, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    """Create a campaign from its JSON form: pipeline preset, friend offer, incentives, fraud settings,
    limits and delays."""
    return Status(
        201, campaign_shape(campaign_create(site=request.site, definition=payload, actor=request.actor))
    )


@router.get("/campaigns/{slug}", response={200: CampaignOut, **ERRORS}, by_alias=True)
def get_campaign(request, slug: str = Path(..., pattern=SLUG)):
    return Status(200, campaign_shape(campaign_for_site(site=request.site, slug=slug)))


@router.put("/campaigns/{slug}", response={200: CampaignOut, **ERRORS}, by_alias=True)
def update_campaign(request, payload: CampaignDefinition, slug: str = Path(..., pattern=SLUG)):
    """Replace a campaign's definition. The pipeline cannot change once the campaign has referrals."""
    campaign = campaign_for_site(site=request.site, slug=slug)
    return Status(
        200, campaign_shape(campaign_update(campaign=campaign, definition=payload, actor=request.actor))
    )
