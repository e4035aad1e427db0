"""`vouch worker`: take due rows in small batches and do them (healthchecks'
sendalerts pattern).

Each kind of due work is a row with `due_at`, `attempts`, `locked_until` (a lease)
and `last_error`. A worker claims a batch by setting the lease in one short
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers never
claim the same row), then handles each row in its own transaction, which re-checks
the row and closes it. A worker killed at any point leaves either an unclaimed row
or a leased one whose lease runs out and is claimed again; because closing the row
is part of the handler's transaction, a handled row is never handled twice.
"""

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Model, Q

from vouch import clock
from vouch.audit.services import ENGINE
from vouch.emails.models import Email
from vouch.emails.rendering import unsubscribe_url
from vouch.emails.services import UNSUBSCRIBED
from vouch.errors import VouchError
from vouch.people.tallies import tallies_fold
from vouch.referrals.models import Referral, TimedStep
from vouch.referrals.services import referral_requirement_unmet, referral_transition
from vouch.webhooks.models import Delivery
from vouch.webhooks.services import webhook_delivery_attempt

log = logging.getLogger("vouch.worker")
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass(frozen=True)
class DueWork:
    model: type[Model]
    due: Q
    handle: Callable[[int], str]


def claim(work: DueWork, *, batch: int, lease: timedelta) -> list[int]:
    now = clock.now()
    with transaction.atomic():
        rows = (
            work.model.objects.filter(work.due, due_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .order_by("due_at", "id")
        )
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.values_list("id", flat=True)[:batch])
        if ids:
            work.model.objects.filter(id__in=ids).update(locked_until=now + lease, attempts=F("attempts") + 1)
    return ids


def _superseded(step: TimedStep) -> bool:
    """A referral that left the step's status and came back has a newer step for it."""
    return TimedStep.objects.filter(
        referral_id=step.referral_id, from_status=step.from_status, done_at__isnull=True, pk__gt=step.pk
    ).exists()


def timed_step_handle(step_id: int) -> str:
    """Take a timed transition if the referral is still where the step expects it."""
    with transaction.atomic():
        step = TimedStep.objects.select_for_update().filter(pk=step_id, done_at__isnull=True).first()
        if step is None:
            return "already done"
        referral = (
            Referral.objects.select_for_update().select_related("campaign", "site").get(pk=step.referral_id)
        )
        if referral.status != step.from_status:
            outcome = f"skipped: the referral is {referral.status}, no longer {step.from_status}"
        elif _superseded(step):
            outcome = f"skipped: the referral left {step.from_status} and came back; a later step counts"
        elif unmet := referral_requirement_unmet(referral=referral, target=step.to_status):
            outcome = f"waiting: {unmet}"
        else:
            try:
                referral_transition(
                    referral=referral, target=step.to_status, actor=ENGINE, reason=step.reason
                )
                outcome = f"{step.from_status} → {step.to_status}"
            except VouchError as refused:
                outcome = f"refused: {refused.message}"
        step.done_at, step.outcome, step.locked_until = clock.now(), outcome, None
        step.save(update_fields=["done_at", "outcome", "locked_until"])
        return outcome


INTERRUPTED_SEND = (
    "The worker stopped while handing this email to the ESP, so it may or may not have gone out; "
    "it is not sent again so that it cannot arrive twice. Use Resend now if the person did not get it."
)


def email_send_handle(email_id: int) -> str:
    """Send a queued email at most once.

    Sending is the one step the database cannot take back, so it is fenced on both
    sides. First, in a short transaction, the row is locked and the attempt is recorded
    (`send_started_at`) and committed: from then on any worker that finds the row knows
    a send may have happened. Then the ESP is called outside any transaction (no lock
    waits on the network). Then the result, with the ESP's message id, is recorded.

    A row found with an attempt recorded but no result belongs to a worker that died
    mid-send: the ESP may have accepted the message, so the row is closed as sent with
    that reason instead of being sent again (staff can "Resend now"). A send that fails
    with an error never reached the ESP's queue: its attempt is cleared and it is
    retried with backoff. A person who unsubscribed after the email was queued gets
    nothing: the row is closed `not_sent` with the reason.
    """
    with transaction.atomic():
        email = (
            Email.objects.select_for_update()
            .select_related("person")
            .filter(pk=email_id, status="queued")
            .first()
        )
        if email is None:
            return "already sent"
        if email.send_started_at is not None:
            Email.objects.filter(pk=email.pk).update(
                status="sent",
                sent_at=email.send_started_at,
                reason=INTERRUPTED_SEND,
                due_at=None,
                locked_until=None,
            )
            return "interrupted send closed without resending"
        if email.person.unsubscribed_at is not None:
            Email.objects.filter(pk=email.pk).update(
                status="not_sent", reason=UNSUBSCRIBED, due_at=None, locked_until=None
            )
            return "not sent: unsubscribed"
        email.send_started_at = clock.now()
        email.message_id = make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)
        email.save(update_fields=["send_started_at", "message_id"])
    unsubscribe = unsubscribe_url(email.person_id)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=email.from_address,
        to=[email.to],
        headers={
            "Message-ID": email.message_id,
            "X-Vouch-Email-Id": str(email.pk),
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    try:
        message.send()
    except Exception:
        Email.objects.filter(pk=email.pk).update(send_started_at=None)
        raise
    status = getattr(message, "anymail_status", None)
    esp_message_id = str(status.message_id) if status is not None and status.message_id is not None else ""
    Email.objects.filter(pk=email.pk, status="queued").update(
        status="sent",
        sent_at=clock.now(),
        due_at=None,
        locked_until=None,
        message_id=esp_message_id or email.message_id,
    )
    return "sent"


def webhook_delivery_handle(delivery_id: int) -> str:
    """One attempt at an outbound webhook; the retry schedule and the at-most-one-request
    per attempt row live in `webhook_delivery_attempt`."""
    return webhook_delivery_attempt(delivery_id=delivery_id)


WORK = (
    DueWork(TimedStep, Q(done_at__isnull=True), timed_step_handle),
    DueWork(Email, Q(status="queued"), email_send_handle),
    DueWork(Delivery, Q(status="pending"), webhook_delivery_handle),
)


def _record_failure(work: DueWork, row_id: int, error: Exception) -> None:
    row = work.model.objects.filter(pk=row_id).first()
    if row is None:
        return
    work.model.objects.filter(pk=row_id).update(
        last_error=f"{type(error).__name__}: {error}"[:2000],
        due_at=clock.now() + backoff(row.attempts),
        locked_until=None,
    )


def run_once(*, batch: int | None = None, lease: timedelta | None = None) -> int:
    """Claim and handle one batch of each kind of due work, and fold a batch of tally changes
    (vouch.people.tallies); returns how many rows were handled."""
    batch = batch or settings.WORKER_BATCH_SIZE
    lease = lease or timedelta(seconds=settings.WORKER_LEASE_SECONDS)
    handled = 0
    for work in WORK:
        for row_id in claim(work, batch=batch, lease=lease):
            try:
                outcome = work.handle(row_id)
                log.info("%s %s: %s", work.model.__name__, row_id, outcome)
            except Exception as error:  # noqa: BLE001 - recorded on the row and retried with backoff
                log.exception("%s %s failed", work.model.__name__, row_id)
                _record_failure(work, row_id, error)
            handled += 1
    try:
        handled += tallies_fold()
    except DatabaseError:  # the changes stay; the next pass folds them
        log.exception("folding tally changes failed")
    return handled


def run_forever(*, idle_sleep: float = 1.0, stop_after: float | None = None) -> None:
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = time.monotonic()
    log.info("worker started")
    while not stopping:
        if stop_after is not None and time.monotonic() - started > stop_after:
            break
        if run_once() == 0:
            time.sleep(idle_sleep)
    log.info("worker stopped")
