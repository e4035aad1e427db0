from collections.abc import Iterable
from dataclasses import dataclass

from vouch import clock
from vouch.audit.models import AuditEntry
from vouch.bulk_insert import insert_rows
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
    return AuditEntry.objects.create(
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


@dataclass(frozen=True)
class AuditItem:
    """One entry of `audit_record_many`: what `audit_record` takes besides the site and actor."""

    action: str
    object_type: str
    object_id: object
    before: dict | None = None
    after: dict | None = None


def audit_record_many(*, site_id: int, actor: ActorRef, items: Iterable[AuditItem]) -> None:
    """`audit_record` of many entries by one actor at one time (a bulk status change), in one
    insert (`vouch.bulk_insert`)."""
    now = clock.now()
    insert_rows(
        AuditEntry,
        [
            {
                "site_id": site_id,
                "actor": actor.kind,
                "actor_label": actor.label,
                "user_id": actor.user_id,
                "api_key_id": actor.api_key_id,
                "ip": actor.ip,
                "action": item.action,
                "object_type": item.object_type,
                "object_id": str(item.object_id),
                "before": item.before,
                "after": item.after,
                "created_at": now,
            }
            for item in items
        ],
    )
