"""The privacy actions on a person: unsubscribe from program emails, and anonymise (GDPR erasure)."""

from datetime import datetime

from ninja import Header, Path, Router, Schema, Status

from vouch.api.main import ERRORS, idempotent
from vouch.people.privacy import person_anonymise, person_unsubscribe
from vouch.people.selectors import person_for_site

router = Router(tags=["people"])
EMAIL_PATH = Path(..., min_length=1, max_length=254)


class PrivacyOut(Schema):
    id: int
    email: str
    unsubscribed_at: datetime | None
    anonymised_at: datetime | None


def _shape(person) -> dict:
    return {
        "id": person.pk,
        "email": person.email,
        "unsubscribed_at": person.unsubscribed_at,
        "anonymised_at": person.anonymised_at,
    }


@router.post("/people/{email}/unsubscribe", response={200: PrivacyOut, **ERRORS})
@idempotent
def unsubscribe_person(
    request, email: str = EMAIL_PATH, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    """Stop every program email to the person; queued emails are not sent. Repeating it changes nothing."""
    person = person_unsubscribe(person=person_for_site(site=request.site, email=email), actor=request.actor)
    return Status(200, _shape(person))


@router.post("/people/{email}/anonymise", response={200: PrivacyOut, **ERRORS})
@idempotent
def anonymise_person(
    request, email: str = EMAIL_PATH, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    """Erase the person's personal data (GDPR) and keep their referrals and rewards as rows:
    the email becomes `anonymised-<id>@invalid`, names, fields, IPs, visitor ids and
    addresses are cleared, email bodies blanked. It cannot be undone."""
    person = person_anonymise(person=person_for_site(site=request.site, email=email), actor=request.actor)
    return Status(200, _shape(person))
