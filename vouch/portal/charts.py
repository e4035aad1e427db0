"""The home page's bar chart, drawn on the server as SVG geometry: no chart library, no JS."""

from dataclasses import dataclass

from vouch.referrals.snapshot import CampaignSnapshot

ROW, GAP, LABEL_WIDTH, BAR_WIDTH = 22, 6, 190, 360


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    y: int
    width: int
    text_y: int


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    height: int
    width: int = LABEL_WIDTH + BAR_WIDTH + 60
    label_width: int = LABEL_WIDTH
    row: int = ROW


def bar_chart(campaign: CampaignSnapshot) -> BarChart:
    """One horizontal bar per status of the campaign's pipeline, scaled to the largest count."""
    largest = max((s.count for s in campaign.statuses), default=0) or 1
    bars = []
    for i, status in enumerate(campaign.statuses):
        y = i * (ROW + GAP)
        width = round(BAR_WIDTH * status.count / largest)
        bars.append(
            Bar(
                label=status.label,
                count=status.count,
                y=y,
                width=max(width, 1 if status.count else 0),
                text_y=y + 15,
            )
        )
    return BarChart(
        title=f"Referrals per status in {campaign.name}", bars=bars, height=max(len(bars) * (ROW + GAP), ROW)
    )
