"""A person's privacy: unsubscribing from program emails, and anonymising them (GDPR
erasure) while the site keeps its referral and reward counts.

Anonymising rewrites the person's email to a placeholder that cannot be turned back
(`anonymised-<id>@invalid`), clears their names, fields, IPs, visitor ids, addresses
and customer id wherever Vouch stored them (events, shares, visits, offers, fraud
evidence, audit entries, outbound webhook events), blanks the bodies of their emails
and removes their address from other emails' text. Rows stay, so counts, statuses,
coupon codes given and money totals are unchanged.
"""

from django.db import transaction
from django.db.models import Q

from vouch import clock
from vouch.audit.models import AuditEntry
from vouch.audit.services import ActorRef, audit_record
from vouch.emails.models import Email, Status
from vouch.emails.services import UNSUBSCRIBED
from vouch.events.models import Event
from vouch.fraud.models import FraudResult
from vouch.people.models import Person
from vouch.referrals.models import Referral
from vouch.shares.models import Offer, Share, Visit
from vouch.webhooks.models import WebhookEvent

REDACTED = "[anonymised]"
# Keys of an event's stored body that describe the person rather than the business fact.
PERSONAL_KEYS = {
    "email",
    "first_name",
    "last_name",
    "ip",
    "visitor_uuid",
    "shipping_address",
    "customer_id",
    "fields",
}


def anonymised_email(person_id: int) -> str:
    return f"anonymised-{person_id}@invalid"


def person_unsubscribe(*, person: Person, actor: ActorRef) -> Person:
    """Stop every program email to the person: later emails are stored `not_sent` with the
    reason, and emails still waiting in the outbox are closed the same way."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        if person.unsubscribed_at is not None:
            return person
        now = clock.now()
        person.unsubscribed_at = now
        person.save(update_fields=["unsubscribed_at"])
        cancelled = Email.objects.filter(
            person=person, status=Status.QUEUED, send_started_at__isnull=True
        ).update(status=Status.NOT_SENT, reason=UNSUBSCRIBED, due_at=None, locked_until=None)
        audit_record(
            site=person.site,
            actor=actor,
            action="person.unsubscribe",
            object_type="person",
            object_id=person.pk,
            before={"unsubscribed_at": None},
            after={"unsubscribed_at": now.isoformat(), "queued_emails_cancelled": cancelled},
        )
        return person


class _Scrubber:
    """Replaces the person's identifying strings inside stored JSON and text, keeping types
    and shapes so stored answers (an event's replayed result) still read as before."""

    def __init__(self, *, email: str, placeholder: str, tokens: set[str]):
        self.email = email
        self.placeholder = placeholder
        self.tokens = sorted((t for t in tokens if t and len(t) >= 3 and t != email), key=len, reverse=True)

    def text(self, value: str) -> str:
        if not value:
            return value
        if self.email:
            value = value.replace(self.email, self.placeholder)
        for token in self.tokens:
            value = value.replace(token, REDACTED)
        return value

    def json(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value


def _traces(person: Person) -> tuple[set[str], set[str]]:
    """The IPs and visitor ids Vouch stored with the person's events, offers and shares."""
    ips, visitors = set(), set()
    for model, owner in ((Event, "person"), (Offer, "friend"), (Share, "advocate")):
        for ip, visitor in model.objects.filter(**{owner: person}).values_list("ip", "visitor_uuid"):
            ips.add(ip)
            visitors.add(visitor)
    return ips - {""}, visitors - {""}


def _personal_tokens(person: Person, *, ips: set[str], visitors: set[str]) -> set[str]:
    tokens = {person.email, person.email_canonical, person.customer_id, *ips, *visitors}
    if len(person.name) >= 3:
        tokens.add(person.name)
    for address, customer in Event.objects.filter(person=person).values_list(
        "shipping_address", "customer_id"
    ):
        tokens |= {address, customer}
    return {t for t in tokens if t}


def person_anonymise(*, person: Person, actor: ActorRef) -> Person:
    """GDPR erasure that keeps the program's numbers: see the module docstring."""
    with transaction.atomic():
        person = Person.objects.select_for_update().select_related("site").get(pk=person.pk)
        if person.anonymised_at is not None:
            return person
        if person.unsubscribed_at is None:
            person = person_unsubscribe(person=person, actor=actor)
        site = person.site
        email = person.email
        placeholder = anonymised_email(person.pk)
        ips, visitors = _traces(person)
        scrub = _Scrubber(
            email=email, placeholder=placeholder, tokens=_personal_tokens(person, ips=ips, visitors=visitors)
        )

        for event in Event.objects.filter(site=site).filter(Q(person=person) | Q(result__icontains=email)):
            if event.person_id == person.pk:
                event.payload = {k: ("" if k in PERSONAL_KEYS else v) for k, v in event.payload.items()}
                event.ip = event.visitor_uuid = event.shipping_address = event.customer_id = ""
            event.payload = scrub.json(event.payload)
            event.result = scrub.json(event.result)
            event.save(
                update_fields=["payload", "ip", "visitor_uuid", "shipping_address", "customer_id", "result"]
            )

        Share.objects.filter(advocate=person).update(ip="", visitor_uuid="")
        Share.objects.filter(site=site, friend_email=email).update(friend_email=placeholder)
        Offer.objects.filter(friend=person).update(ip="", visitor_uuid="")
        Visit.objects.filter(site=site).filter(Q(visitor_uuid__in=visitors) | Q(ip__in=ips)).update(
            ip="", user_agent="", visitor_uuid=""
        )

        referral_ids = Referral.objects.filter(Q(advocate=person) | Q(friend=person)).values_list(
            "id", flat=True
        )
        for result in FraudResult.objects.filter(referral_id__in=list(referral_ids)):
            result.message, result.evidence = scrub.text(result.message), scrub.json(result.evidence)
            result.save(update_fields=["message", "evidence"])

        Email.objects.filter(person=person).update(to=placeholder, text="", html="")
        for message in Email.objects.filter(site=site).filter(
            Q(text__icontains=email)
            | Q(html__icontains=email)
            | Q(subject__icontains=email)
            | Q(person=person)
        ):
            message.subject, message.text, message.html = (
                scrub.text(message.subject),
                scrub.text(message.text),
                scrub.text(message.html),
            )
            message.save(update_fields=["subject", "text", "html"])

        for entry in AuditEntry.objects.filter(site=site).filter(
            Q(before__icontains=email) | Q(after__icontains=email)
        ):
            entry.before, entry.after = scrub.json(entry.before), scrub.json(entry.after)
            entry.save(update_fields=["before", "after"])
        for stored in WebhookEvent.objects.filter(site=site, data__icontains=email):
            stored.data = scrub.json(stored.data)
            stored.save(update_fields=["data"])

        now = clock.now()
        Person.objects.filter(pk=person.pk).update(
            email=placeholder,
            email_canonical=placeholder,
            first_name="",
            last_name="",
            customer_id="",
            fields={},
            segments=[],
            anonymised_at=now,
        )
        audit_record(
            site=site,
            actor=actor,
            action="person.anonymise",
            object_type="person",
            object_id=person.pk,
            after={"email": placeholder, "anonymised_at": now.isoformat()},
        )
        person.refresh_from_db()
        return person
