"""Email templates rendered on a fixed context of plain values.

Templates are admin-written, so they run on an isolated `Engine` (no loaders, no
libraries to `{% load %}`) and see plain dicts built here rather than model
instances: `{{ person.site.api_keys }}` and the like reach nothing.
"""

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.db.models import Model
from django.template import Context, Engine, Template
from django.urls import reverse

from vouch.read_cache import cached

_text_engine = Engine(autoescape=False, loaders=[], libraries={})
_html_engine = Engine(autoescape=True, loaders=[], libraries={})
_UNSUBSCRIBE_SALT = "vouch.emails.unsubscribe"


@lru_cache(maxsize=512)
def template_compile(source: str, *, html: bool) -> Template:
    return (_html_engine if html else _text_engine).from_string(source)


def template_render(source: str, context: dict, *, html: bool = False) -> str:
    return template_compile(source, html=html).render(Context(context))


def _plain_model(value: Model) -> dict | str:
    from vouch.campaigns.models import Campaign
    from vouch.people.models import Person
    from vouch.referrals.models import Referral
    from vouch.rewards.models import Reward
    from vouch.shares.models import Offer

    if isinstance(value, Person):
        return {
            "email": value.email,
            "first_name": value.first_name,
            "last_name": value.last_name,
            "name": value.name,
            "fields": plain(value.fields),
        }
    if isinstance(value, Campaign):
        return {"name": value.name, "slug": value.slug}
    if isinstance(value, Reward):
        return {
            "role": value.role,
            "kind": value.kind,
            "code": value.code,
            "value": str(value.value) if value.value is not None else "",
            "currency": value.currency,
        }
    if isinstance(value, Referral):
        return {"id": value.pk, "status": value.status, "order_number": value.order_number}
    if isinstance(value, Offer):
        return {"coupon_code": value.coupon_code, "expires_at": value.expires_at}
    return str(value)


def plain(value):
    """The template-safe copy of a context value: models become the few fields an email
    may show, containers are copied, anything else becomes its text."""
    if value is None or isinstance(value, str | int | float | bool | Decimal | datetime):
        return value
    if isinstance(value, Model):
        return _plain_model(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def unsubscribe_token(person_id: int) -> str:
    return signing.Signer(salt=_UNSUBSCRIBE_SALT).sign(str(person_id))


def unsubscribe_token_read(token: str) -> int | None:
    try:
        return int(signing.Signer(salt=_UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def unsubscribe_url(person_id: int) -> str:
    """The person's unsubscribe link: made once per ingest (`vouch.read_cache`), where a
    purchase may email the advocate for each reward it gives (~0.1 ms each)."""
    return cached(("unsubscribe_url", person_id), lambda: _unsubscribe_url(person_id))


def _unsubscribe_url(person_id: int) -> str:
    path = reverse("emails:unsubscribe", kwargs={"token": unsubscribe_token(person_id)})
    return settings.SITE_ROOT.rstrip("/") + path


def with_unsubscribe_footer(*, text: str, html: str, url: str) -> tuple[str, str]:
    """Every program email says how to stop them, whatever its template says."""
    text = f"{text.rstrip()}\n\n--\nTo stop receiving these emails: {url}\n"
    if not html:
        return text, html
    footer = f'<p style="font-size:12px;color:#666"><a href="{url}">Unsubscribe</a> from these emails.</p>'
    position = html.lower().rfind("</body>")
    html = html[:position] + footer + "\n" + html[position:] if position >= 0 else html + "\n" + footer
    return text, html


SAMPLE_CONTEXT = {
    "person": {
        "email": "advocate@example.com",
        "first_name": "Stephanie",
        "last_name": "Ganley",
        "name": "Stephanie Ganley",
        "fields": {},
    },
    "campaign": {"name": "Spring referral", "slug": "spring"},
    "referral": {"id": 1, "status": "approved", "order_number": "ORDER-1"},
    "reward": {"role": "advocate", "kind": "coupon", "code": "THANKS-1", "value": "20.00", "currency": "USD"},
    "offer": {"coupon_code": "FRIEND-A1", "expires_at": datetime(2030, 1, 1), "description": "15% off"},
    "friend_email": "levi@example.com",
    "advocate_name": "Stephanie",
    "share_url": "https://example.com/r/abc123",
    "unsubscribe_url": "https://example.com/u/1:signature",
}
