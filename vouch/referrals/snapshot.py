"""The home page's snapshot: how many referrals sit in each status of each campaign,
in the words of the campaign's pipeline, and how long the queues people work through are.

One `GROUP BY campaign, status` over the `(site, campaign, status)` index answers the
counts, so the snapshot costs the same few queries at a thousand referrals or a million.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from vouch.campaigns.models import Campaign
from vouch.pipelines import PIPELINES
from vouch.referrals.models import Referral
from vouch.sites.models import Site

# Statuses a person has to resolve; the home page shows each one's size and oldest referral.
QUEUE_STATUSES = ("flagged", "pending_denial")


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class CampaignSnapshot:
    slug: str
    name: str
    pipeline: str
    pipeline_label: str
    statuses: list[StatusCount]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.statuses)


@dataclass(frozen=True)
class QueueHead:
    status: str
    count: int
    oldest_id: int | None
    oldest_since: datetime | None


@dataclass(frozen=True)
class Snapshot:
    campaigns: list[CampaignSnapshot]
    queues: list[QueueHead]


def referral_snapshot(*, site: Site) -> Snapshot:
    """Every campaign of the site with a count per status of its pipeline (zeros included, in
    the pipeline's order; a status the pipeline does not name, if any, comes last), and the
    size and oldest referral of each queue in `QUEUE_STATUSES`."""
    counts: dict[int, dict[str, int]] = {}
    grouped = (
        Referral.objects.filter(site=site)
        .values_list("campaign_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for campaign_id, status, n in grouped:
        counts.setdefault(campaign_id, {})[status] = n
    campaigns = []
    for campaign in Campaign.objects.filter(site=site).order_by("name", "id"):
        pipeline = PIPELINES.get(campaign.pipeline)
        states = dict(pipeline.states) if pipeline else {}
        found = counts.get(campaign.pk, {})
        statuses = [StatusCount(status, label, found.get(status, 0)) for status, label in states.items()]
        statuses += [
            StatusCount(status, status.replace("_", " ").capitalize(), n)
            for status, n in sorted(found.items())
            if status not in states
        ]
        campaigns.append(
            CampaignSnapshot(
                slug=campaign.slug,
                name=campaign.name,
                pipeline=campaign.pipeline,
                pipeline_label=pipeline.label if pipeline else campaign.pipeline,
                statuses=statuses,
            )
        )
    queue_counts: dict[str, int] = {}
    for by_status in counts.values():
        for status in QUEUE_STATUSES:
            queue_counts[status] = queue_counts.get(status, 0) + by_status.get(status, 0)
    queues = []
    for status in QUEUE_STATUSES:
        oldest = None
        if queue_counts.get(status):
            oldest = (
                Referral.objects.filter(site=site, status=status)
                .order_by("status_changed_at", "id")
                .values_list("id", "status_changed_at")
                .first()
            )
        queues.append(
            QueueHead(
                status=status,
                count=queue_counts.get(status, 0),
                oldest_id=oldest[0] if oldest else None,
                oldest_since=oldest[1] if oldest else None,
            )
        )
    return Snapshot(campaigns=campaigns, queues=queues)
