"""The person page, the referral details page and the home snapshot cost a fixed number of
queries, however many referrals, rewards and emails there are (no N+1)."""

import re
from html import unescape

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.e2e.test_purchase_walk import purchase, share_and_claim
from tests.portal.conftest import make_flagged
from vouch.people.models import Person
from vouch.referrals.models import Referral
from vouch.referrals.snapshot import referral_snapshot


def refer(api, i: int) -> int:
    _, coupon = share_and_claim(api, friend=f"friend{i}@example.com")
    return purchase(api, order=f"O{i}", email=f"friend{i}@example.com", coupon=coupon).json()["referral"][
        "id"
    ]


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_person_page_queries_do_not_grow_with_referrals(
    as_role, api, campaign, django_assert_max_num_queries
):
    agent = as_role("agent")
    refer(api, 0)
    stephanie = Person.objects.get(email="stephanie@ganleywestside.com")
    url = reverse("portal:person", args=[stephanie.pk])
    agent.get(url)  # the first page after the login saves the session
    one = queries(agent, url)
    for i in range(1, 4):
        refer(api, i)
    # session, user, memberships, the person with the header's counts, referrals as advocate
    # and as friend, their rewards, the blacklist: the other tabs' lists are not read
    with django_assert_max_num_queries(8):
        assert agent.get(url).status_code == 200
    assert queries(agent, url) == one
    for tab in ("rewards", "emails", "offers", "shares", "events", "activity"):
        with django_assert_max_num_queries(9):
            assert agent.get(url, {"tab": tab}).status_code == 200


def test_a_heavy_person_page_shows_one_page_of_each_list_with_counts_in_the_same_queries(
    as_role, api, campaign
):
    agent = as_role("agent")
    refer(api, 0)
    stephanie = Person.objects.get(email="stephanie@ganleywestside.com")
    url = reverse("portal:person", args=[stephanie.pk])
    agent.get(url)  # the first page after the login saves the session
    one = queries(agent, url)
    for i in range(1, 13):
        refer(api, i)
    assert queries(agent, url) == one
    page = agent.get(url).content.decode()
    assert page.count("Details #") == 10
    assert "1–10 of 13" in page and 'rel="next"' in page
    older = agent.get(url, {"advocate_page": "2"}).content.decode()
    assert "11–13 of 13" in older and older.count("Details #") == 3
    assert agent.get(url, {"advocate_page": "999"}).status_code == 200
    assert queries(agent, f"{url}?advocate_page=2") == one


def _advocate_part(client, href: str) -> tuple[list[int], dict[str, str], str]:
    """The referral ids of the page's "As advocate" list, its pager's links, and its range."""
    html = client.get(href).content.decode().split("<h3>As friend</h3>")[0]
    pager = html.split('<p class="pager">')[1].split("</p>")[0]
    links = {
        label: unescape(link)
        for link, label in re.findall(r'<a href="([^"]+)"(?: rel="\w+")?>(\w+)</a>', pager)
    }
    return [int(i) for i in re.findall(r"Details #(\d+)", html)], links, pager.split(" · ")[0]


def test_older_and_newer_links_walk_every_referral_once_in_order_from_any_depth(as_role, api, campaign):
    agent = as_role("agent")
    ids = [refer(api, i) for i in range(23)]
    tied = Referral.objects.get(pk=ids[5]).created_at
    Referral.objects.filter(pk__in=ids[5:15]).update(created_at=tied)  # then the id decides
    expected = list(
        Referral.objects.filter(pk__in=ids).order_by("-created_at", "-id").values_list("id", flat=True)
    )
    url = reverse("portal:person", args=[Person.objects.get(email="stephanie@ganleywestside.com").pk])

    seen, ranges, href = [], [], url
    while href:
        rows, links, shown = _advocate_part(agent, href)
        seen += rows
        ranges.append(shown)
        href = url + links["Older"] if "Older" in links else ""
    assert seen == expected
    assert ranges == ["1–10 of 23", "11–20 of 23", "21–23 of 23"]

    rows, links, shown = _advocate_part(agent, url)
    assert "Oldest" in links and "Newer" not in links
    oldest, links, shown = _advocate_part(agent, url + links["Oldest"])
    assert (oldest, shown) == (expected[20:], "21–23 of 23") and "Older" not in links
    middle, links, shown = _advocate_part(agent, url + links["Newer"])
    assert (middle, shown) == (expected[10:20], "11–20 of 23")
    assert _advocate_part(agent, url + links["Newer"])[0] == expected[:10]

    typed, _, _ = _advocate_part(agent, f"{url}?advocate_page=2")
    assert typed == expected[10:20]
    elsewhere = refer(api, 99)  # not a row this page seeks from: the page number decides
    Referral.objects.filter(pk=elsewhere).delete()
    assert _advocate_part(agent, f"{url}?advocate_page=3&advocate_after={elsewhere}")[0] == expected[20:]


def test_referral_details_queries_do_not_grow_with_history_rewards_and_emails(
    as_role, api, site, campaign, django_assert_max_num_queries
):
    from conftest import CAMPAIGN

    agent = as_role("agent")
    api.put(
        "/campaigns/spring",
        {**CAMPAIGN, "incentives": {**CAMPAIGN["incentives"], "friend": {"kind": "credit", "value": "5.00"}}},
    )
    plain = refer(api, 0)
    agent.get(reverse("portal:home"))  # the first page after the login saves the session
    one = queries(agent, reverse("portal:referral", args=[plain]))
    busy = refer(api, 1)
    api.post(f"/emails/{site.email_set.filter(referral_id=busy).first().pk}/resend")
    with django_assert_max_num_queries(12):  # 15 when each page saved the session
        assert agent.get(reverse("portal:referral", args=[busy])).status_code == 200
    assert queries(agent, reverse("portal:referral", args=[busy])) == one


def test_home_snapshot_is_one_grouped_query_plus_campaigns_and_queues(
    api, site, campaign, django_assert_num_queries
):
    refer(api, 0)
    flagged = make_flagged(api, friend="nora@example.com", order="F1")
    with django_assert_num_queries(3):
        snapshot = referral_snapshot(site=site)
    [spring] = snapshot.campaigns
    assert [(s.status, s.label, s.count) for s in spring.statuses] == [
        ("in_progress", "In progress", 0),
        ("pending", "Pending", 0),
        ("flagged", "Flagged", 1),
        ("approved", "Approved", 1),
        ("voided", "Voided", 0),
        ("blocked", "Blocked", 0),
        ("unblocked", "Unblocked", 0),
    ]
    assert [(q.status, q.count, q.oldest_id) for q in snapshot.queues] == [
        ("flagged", 1, flagged["id"]),
        ("pending_denial", 0, None),
    ]
