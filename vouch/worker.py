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
from django.db import connection, transaction
from django.db.models import F, Model, Q

from vouch import clock
from vouch.audit.services import ENGINE
from vouch.emails.models import Email
from vouch.errors import VouchError
from vouch.referrals.models import Referral, TimedStep
from vouch.referrals.services import referral_transition

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


def email_send_handle(email_id: int) -> str:
    """Send a queued email. The row is marked sent in the same transaction that
    sends it; the at-most-once guarantee across a crash after the ESP accepted is
    the emails issue's (message id recorded before the send)."""
    with transaction.atomic():
        email = Email.objects.select_for_update().filter(pk=email_id, status="queued").first()
        if email is None:
            return "already sent"
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.text,
            from_email=email.from_address,
            to=[email.to],
            headers={"X-Vouch-Email-Id": str(email.pk)},
        )
        if email.html:
            message.attach_alternative(email.html, "text/html")
        message.send()
        email.status, email.sent_at, email.due_at, email.locked_until = "sent", clock.now(), None, None
        email.message_id = (
            getattr(message, "anymail_status", None) and message.anymail_status.message_id or ""
        )
        email.save(update_fields=["status", "sent_at", "due_at", "locked_until", "message_id"])
        return "sent"


WORK = (
    DueWork(TimedStep, Q(done_at__isnull=True), timed_step_handle),
    DueWork(Email, Q(status="queued"), email_send_handle),
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
    """Claim and handle one batch of each kind of due work; returns how many rows were handled."""
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
