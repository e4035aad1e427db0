from ninja import Header, Path, Router, Status

from vouch.api.main import ERRORS, idempotent
from vouch.api.schemas import EmailOut
from vouch.api.shapes import email_shape
from vouch.campaigns.selectors import campaign_for_site
from vouch.emails.rendering import SAMPLE_CONTEXT
from vouch.emails.schemas import EmailDetailOut, EmailTemplateIn, EmailTemplateOut
from vouch.emails.selectors import (
    EffectiveTemplate,
    email_for_site,
    email_template_effective,
    email_templates_for_campaign,
)
from vouch.emails.services import email_resend, email_template_save

router = Router(tags=["emails"])

TYPE_PATH = Path(
    ...,
    pattern=r"^[a-z][a-z0-9_]{0,59}$",
    description="email type, snake_case: friend_share, friend_offer, friend_reward, advocate_reward_paid, "
    "advocate_referral_made, referral_reminder, or a campaign's own type",
)
SLUG_PATH = Path(..., min_length=1, max_length=64)


def _template_shape(template: EffectiveTemplate) -> dict:
    return {
        "type": template.type,
        "label": template.label,
        "subject": template.subject,
        "text": template.text,
        "html": template.html,
        "source": template.source,
        "updated_at": template.updated_at,
        "context": sorted(SAMPLE_CONTEXT),
    }


@router.get("/emails/{email_id}", response={200: EmailDetailOut, **ERRORS}, by_alias=True)
def get_email(request, email_id: int = Path(..., ge=1, le=2**62)):
    """One email with its content and delivery status, a timestamp per status reached."""
    email = email_for_site(site=request.site, email_id=email_id)
    return Status(
        200, {**email_shape(email), "message_id": email.message_id, "text": email.text, "html": email.html}
    )


@router.post("/emails/{email_id}/resend", response={201: EmailOut, **ERRORS}, by_alias=True)
@idempotent
def resend_email(
    request,
    email_id: int = Path(..., ge=1, le=2**62),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Send the same email again: a new email row whose `resent_from` is the first. A person
    who unsubscribed gets a `not_sent` copy that says why."""
    original = email_for_site(site=request.site, email_id=email_id)
    return Status(201, email_shape(email_resend(email=original, actor=request.actor)))


@router.get("/campaigns/{slug}/email-templates", response={200: list[EmailTemplateOut], **ERRORS})
def list_email_templates(request, slug: str = SLUG_PATH):
    """Every email type the campaign sends, each as it would be sent now (the campaign's
    override, else the site's, else the default)."""
    campaign = campaign_for_site(site=request.site, slug=slug)
    return Status(200, [_template_shape(t) for t in email_templates_for_campaign(campaign=campaign)])


@router.get("/campaigns/{slug}/email-templates/{type}", response={200: EmailTemplateOut, **ERRORS})
def get_email_template(request, slug: str = SLUG_PATH, type: str = TYPE_PATH):
    campaign = campaign_for_site(site=request.site, slug=slug)
    template = email_template_effective(site_id=request.site.pk, campaign_id=campaign.pk, type=type)
    return Status(200, _template_shape(template))


@router.put("/campaigns/{slug}/email-templates/{type}", response={200: EmailTemplateOut, **ERRORS})
@idempotent
def save_email_template(
    request,
    payload: EmailTemplateIn,
    slug: str = SLUG_PATH,
    type: str = TYPE_PATH,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Override an email type for this campaign, or define the campaign's own type for the
    rule action "email only". A template that does not compile, or fails on a sample
    email, is refused with 422 naming the field."""
    campaign = campaign_for_site(site=request.site, slug=slug)
    email_template_save(
        site=request.site,
        campaign=campaign,
        type=type,
        subject=payload.subject,
        html=payload.html,
        text=payload.text,
        actor=request.actor,
    )
    template = email_template_effective(site_id=request.site.pk, campaign_id=campaign.pk, type=type)
    return Status(200, _template_shape(template))
