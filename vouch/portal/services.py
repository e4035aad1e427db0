"""The portal's own writes: login failures, site memberships, stored import files, and the
few actions that combine engine services for one form. Every change to a referral, reward,
coupon list, email or campaign still goes through that area's service."""

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.errors import Conflict, Invalid, NotFound, VouchError
from vouch.portal.models import ImportUpload, LoginFailure
from vouch.referrals.csv_import import NOT_UTF8
from vouch.referrals.imports import ImportReport, referrals_import
from vouch.referrals.models import Referral
from vouch.referrals.services import referral_set_status
from vouch.sites.models import Membership, Role, Site

LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def login_locked_until(*, username: str, ip: str) -> datetime | None:
    """When a username may try again from this address, if it is locked out now: after
    `LOCKOUT_FAILURES` failures within `LOCKOUT_WINDOW`, until the oldest of them is that old."""
    since = clock.now() - LOCKOUT_WINDOW
    recent = list(
        LoginFailure.objects.filter(username=username.lower(), ip=ip, created_at__gt=since)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:LOCKOUT_FAILURES]
    )
    if len(recent) < LOCKOUT_FAILURES:
        return None
    return recent[-1] + LOCKOUT_WINDOW


def login_failure_record(*, username: str, ip: str) -> None:
    LoginFailure.objects.create(username=username.lower()[:150], ip=ip, created_at=clock.now())


def login_failures_clear(*, username: str, ip: str) -> None:
    """A successful login forgets that address's failures for the username; old rows of
    anyone go too, so the table stays small."""
    LoginFailure.objects.filter(username=username.lower(), ip=ip).delete()
    LoginFailure.objects.filter(created_at__lt=clock.now() - LOCKOUT_WINDOW * 4).delete()


def _admins_left(site: Site, *, without: Membership) -> bool:
    return Membership.objects.filter(site=site, role=Role.ADMIN).exclude(pk=without.pk).exists()


def membership_add(*, site: Site, username: str, role: str, actor: ActorRef) -> Membership:
    """Give an existing user a role on the site."""
    if role not in Role.values:
        raise Invalid("unknown_role", f"'{role}' is not a role; roles are {', '.join(Role.values)}.")
    user = get_user_model().objects.filter(username=username.strip()).first()
    if user is None:
        raise NotFound(
            "user_not_found", f"No user '{username}'. Create the user first (vouch createsuperuser)."
        )
    with transaction.atomic():
        if Membership.objects.filter(site=site, user=user).exists():
            raise Conflict("already_member", f"{user.username} is already a member of this site.")
        membership = Membership.objects.create(site=site, user=user, role=role)
        audit_record(
            site=site,
            actor=actor,
            action="membership.add",
            object_type="membership",
            object_id=membership.pk,
            after={"username": user.username, "role": role},
        )
        return membership


def membership_for_site(*, site: Site, membership_id: int) -> Membership:
    membership = Membership.objects.filter(site=site, pk=membership_id).select_related("user").first()
    if membership is None:
        raise NotFound("membership_not_found", "No such member of this site.")
    return membership


def membership_set_role(*, membership: Membership, role: str, actor: ActorRef) -> Membership:
    """Change a member's role; the site always keeps at least one admin."""
    if role not in Role.values:
        raise Invalid("unknown_role", f"'{role}' is not a role; roles are {', '.join(Role.values)}.")
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update().select_related("user", "site").get(pk=membership.pk)
        )
        before = membership.role
        if (
            before == Role.ADMIN
            and role != Role.ADMIN
            and not _admins_left(membership.site, without=membership)
        ):
            raise Conflict("last_admin", "The site needs at least one admin: make someone else admin first.")
        Membership.objects.filter(pk=membership.pk).update(role=role)
        membership.role = role
        audit_record(
            site=membership.site,
            actor=actor,
            action="membership.role",
            object_type="membership",
            object_id=membership.pk,
            before={"username": membership.user.username, "role": before},
            after={"username": membership.user.username, "role": role},
        )
        return membership


def membership_remove(*, membership: Membership, actor: ActorRef) -> None:
    """Take a user off the site; the last admin cannot be removed."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update().select_related("user", "site").get(pk=membership.pk)
        )
        if membership.role == Role.ADMIN and not _admins_left(membership.site, without=membership):
            raise Conflict("last_admin", "The site needs at least one admin: make someone else admin first.")
        audit_record(
            site=membership.site,
            actor=actor,
            action="membership.remove",
            object_type="membership",
            object_id=membership.pk,
            before={"username": membership.user.username, "role": membership.role},
        )
        membership.delete()


@dataclass(frozen=True)
class RowResult:
    referral_id: int
    ok: bool
    message: str
    status: str = ""


def referrals_set_status_bulk(
    *, site: Site, referral_ids: list[int], status: str, actor: ActorRef, reason: str = ""
) -> list[RowResult]:
    """The queue's bulk approve / void: each selected referral through `referral_set_status`
    on its own, so one refusal neither stops nor undoes the others."""
    found = {
        r.pk: r for r in Referral.objects.filter(site=site, pk__in=referral_ids).select_related("campaign")
    }
    results = []
    for referral_id in referral_ids:
        referral = found.get(referral_id)
        if referral is None:
            results.append(RowResult(referral_id, False, "No such referral on this site."))
            continue
        try:
            changed = referral_set_status(referral=referral, status=status, actor=actor, reason=reason)
        except VouchError as error:
            results.append(RowResult(referral_id, False, error.message, referral.status))
        else:
            results.append(RowResult(referral_id, True, f"Now {changed.status}.", changed.status))
    return results


def import_upload_store(*, site: Site, user_id: int | None, filename: str, data: bytes) -> ImportUpload:
    """Keep an uploaded CSV for its preview and later confirmation; only UTF-8 text is kept."""
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid("file_too_large", f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Invalid("invalid_csv", NOT_UTF8) from error
    return ImportUpload.objects.create(
        site=site,
        user_id=user_id,
        filename=filename[:255],
        content=text.replace("\x00", ""),
        created_at=clock.now(),
    )


def import_upload_for_site(*, site: Site, upload_id: int) -> ImportUpload:
    upload = ImportUpload.objects.filter(site=site, pk=upload_id).first()
    if upload is None:
        raise NotFound("import_not_found", "No such import on this site.")
    return upload


def _lines(upload: ImportUpload) -> io.StringIO:
    return io.StringIO(upload.content, newline="")


def import_upload_preview(*, upload: ImportUpload, actor: ActorRef) -> ImportReport:
    """The dry run of a stored file: every row's outcome, nothing changed."""
    return referrals_import(site=upload.site, lines=_lines(upload), actor=actor, apply=False)


def import_upload_apply(*, upload: ImportUpload, actor: ActorRef) -> ImportReport:
    """Apply a previewed file once: the upload is claimed by an update guarded on
    `applied_at IS NULL`, so a double click or a second tab cannot apply it twice."""
    claimed = ImportUpload.objects.filter(pk=upload.pk, applied_at__isnull=True).update(
        applied_at=clock.now()
    )
    if claimed != 1:
        raise Conflict("import_applied", "This file has already been imported.")
    try:
        report = referrals_import(site=upload.site, lines=_lines(upload), actor=actor, apply=True)
    except VouchError:
        ImportUpload.objects.filter(pk=upload.pk).update(applied_at=None)
        raise
    ImportUpload.objects.filter(pk=upload.pk).update(result=report.as_dict())
    return report
