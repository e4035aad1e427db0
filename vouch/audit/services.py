from dataclasses import dataclass

from vouch import clock
from vouch.audit.models import AuditEntry
from vouch.sites.models import Site


@dataclass(frozen=True)
class ActorRef:
    """Who is acting: the engine, a program rule, a staff user, an API key or an import batch."""

    kind: str
    label: str = ""
    user_id: int | None = None
    api_key_id: int | None = None
    ip: str = ""

    @classmethod
    def engine(cls, label: str = "referral engine") -> "ActorRef":
        return cls(kind="engine", label=label)

    @property
    def is_engine(self) -> bool:
        """The engine and the merchant's program rules act automatically: not audited as manual."""
        return self.kind in ("engine", "rule")


ENGINE = ActorRef.engine()


def audit_entry(
    *,
    site: Site,
    actor: ActorRef,
    action: str,
    object_type: str,
    object_id: object,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """The entry `audit_record` writes, not saved yet: many are written by `audit_record_many`."""
    return AuditEntry(
        site=site,
        actor=actor.kind,
        actor_label=actor.label,
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        ip=actor.ip,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
        created_at=clock.now(),
    )


def audit_record(
    *,
    site: Site,
    actor: ActorRef,
    action: str,
    object_type: str,
    object_id: object,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    entry = audit_entry(
        site=site,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
    )
    entry.save(force_insert=True)
    return entry


def audit_record_many(entries: list[AuditEntry]) -> None:
    """Write entries made by `audit_entry` in one insert (a bulk status change)."""
    AuditEntry.objects.bulk_create(entries)
