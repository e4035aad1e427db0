from django.db import IntegrityError, transaction

from vouch import clock
from vouch.fraud.checks import canonical_email
from vouch.people.models import Person, normalise_email
from vouch.sites.models import Site


def person_get_or_create(
    *, site: Site, email: str, first_name: str = "", last_name: str = "", customer_id: str = ""
) -> Person:
    """The site's person for this email, created on first sight; names fill in blanks."""
    email = normalise_email(email)
    person = Person.objects.filter(site=site, email=email).first()
    if person is None:
        try:
            with transaction.atomic():
                return Person.objects.create(
                    site=site,
                    email=email,
                    email_canonical=canonical_email(email),
                    first_name=first_name or "",
                    last_name=last_name or "",
                    customer_id=customer_id or "",
                    created_at=clock.now(),
                )
        except IntegrityError:
            person = Person.objects.get(site=site, email=email)
    changed = {
        name: value
        for name, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("customer_id", customer_id),
        )
        if value and not getattr(person, name)
    }
    if changed:
        Person.objects.filter(pk=person.pk).update(**changed)
        for name, value in changed.items():
            setattr(person, name, value)
    return person


def person_update(
    *, person: Person, fields: dict | None = None, segments: list[str] | None = None
) -> tuple[frozenset[str], frozenset[str]]:
    """Merge reported custom fields and replace segments; returns the names of the fields
    and segments that changed, which trigger the friend's field-or-segment rules."""
    changed_fields = frozenset(
        name for name, value in (fields or {}).items() if (person.fields or {}).get(name) != value
    )
    changed_segments = frozenset()
    if segments is not None:
        changed_segments = frozenset(set(segments) ^ set(person.segments or []))
    update = {}
    if changed_fields:
        update["fields"] = {**(person.fields or {}), **fields}
    if changed_segments:
        update["segments"] = sorted(set(segments))
    if update:
        Person.objects.filter(pk=person.pk).update(**update)
        for name, value in update.items():
            setattr(person, name, value)
    return changed_fields, changed_segments
