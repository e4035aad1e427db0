from dataclasses import dataclass

from django.db.models import Q

from vouch.emails.models import Email, EmailTemplate
from vouch.emails.templates_default import DEFAULTS, LABELS
from vouch.errors import NotFound
from vouch.read_cache import cached
from vouch.sites.models import Site


def email_for_site(*, site: Site, email_id: int) -> Email:
    email = Email.objects.filter(site=site, pk=email_id).first()
    if email is None:
        raise NotFound("email_not_found", f"No email {email_id} on this site.")
    return email


@dataclass(frozen=True)
class EffectiveTemplate:
    type: str
    label: str
    subject: str
    html: str
    text: str
    source: str  # "campaign", "site" or "default"
    updated_at: object = None


def _label(type: str) -> str:
    return LABELS.get(type) or type.replace("_", " ").capitalize() + " email"


def _from_override(row: EmailTemplate) -> EffectiveTemplate:
    return EffectiveTemplate(
        type=row.type,
        label=_label(row.type),
        subject=row.subject,
        html=row.html,
        text=row.text,
        source="campaign" if row.campaign_id else "site",
        updated_at=row.updated_at,
    )


def _from_default(type: str) -> EffectiveTemplate:
    spec = DEFAULTS[type]
    return EffectiveTemplate(
        type=type,
        label=spec["label"],
        subject=spec["subject"],
        html=spec["html"],
        text=spec["text"],
        source="default",
    )


def _overrides(*, site_id: int, campaign_id: int | None):
    scope = Q(campaign__isnull=True) | Q(campaign_id=campaign_id) if campaign_id else Q(campaign__isnull=True)
    return EmailTemplate.objects.filter(Q(site_id=site_id) & scope)


def email_template_overrides(*, site_id: int, campaign_id: int | None) -> tuple[EmailTemplate, ...]:
    """The site's and the campaign's template overrides of every type; read once per ingest
    (`vouch.read_cache`), so the emails of one purchase look them up once."""
    return cached(
        ("email_templates", site_id, campaign_id),
        lambda: tuple(_overrides(site_id=site_id, campaign_id=campaign_id)),
    )


def _effective(overrides: tuple[EmailTemplate, ...], type: str) -> EffectiveTemplate:
    rows = sorted((r for r in overrides if r.type == type), key=lambda r: r.campaign_id is None)
    if rows:
        return _from_override(rows[0])
    if type in DEFAULTS:
        return _from_default(type)
    raise NotFound("email_type_not_found", f"No email type '{type}' here: save a template for it first.")


def email_template_effective(*, site_id: int, campaign_id: int | None, type: str) -> EffectiveTemplate:
    """The template an email of this type uses now: the campaign's override, else the
    site-wide one, else the default. An unknown type is a NotFound."""
    return _effective(email_template_overrides(site_id=site_id, campaign_id=campaign_id), type)


def email_templates_for_campaign(*, campaign) -> list[EffectiveTemplate]:
    """Every type the campaign can send (the defaults and every override), each as it would be sent."""
    overrides = email_template_overrides(site_id=campaign.site_id, campaign_id=campaign.pk)
    types = set(DEFAULTS) | {row.type for row in overrides}
    return [_effective(overrides, type) for type in sorted(types)]
