"""`vouch demo`: a realistic demo site, loaded through the same services the API,
the portal and the worker use, so every row is one the engine could have written.

Deterministic for a seed (people, paths, amounts, codes); only the share codes, the
API key and the passwords are random. Loading is one transaction and does nothing
when the site already exists.
"""

import random
import secrets
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from vouch.audit.services import ActorRef
from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.models import Campaign
from vouch.campaigns.services import campaign_create
from vouch.events.services import event_ingest
from vouch.fraud.models import BlacklistEntry
from vouch.people.services import person_get_or_create
from vouch.referrals.models import Referral
from vouch.referrals.services import referral_create_manual, referral_set_status
from vouch.rewards.models import Reward
from vouch.rewards.services import coupon_list_top_up
from vouch.shares.models import Share
from vouch.shares.services import offer_claim, share_create, visit_record
from vouch.sites.models import Membership, Site
from vouch.sites.services import api_key_create, site_create

ADVOCATES, FRIENDS = 40, 120
SPRING_ADVOCATES = 16  # the rest share the VIP campaign
FRIEND_CODES, ADVOCATE_CODES = 200, 25
BLACKLISTED_DOMAIN = "freebies-hub.net"

STAFF_USERS = (("admin", "admin"), ("agent", "agent"), ("viewer", "viewer"))

FRIEND_OFFER = {"coupon_list": "friend-15", "expires_in_days": 30, "description": "15% off your first order"}
SPRING = {
    "slug": "spring-referral",
    "name": "Spring referral",
    "pipeline": "purchase_with_fraud_review",
    "friend_offer": FRIEND_OFFER,
    "incentives": {
        "advocate": {
            "kind": "coupon",
            "coupon_list": "advocate-20",
            "value": "20.00",
            "currency": "USD",
            "description": "$20 off your next order",
        }
    },
    "delays": {"auto_approval_hours": 0},
}
VIP = {
    "slug": "vip-referral",
    "name": "VIP referral",
    "pipeline": "purchase_with_fraud_review",
    "friend_offer": FRIEND_OFFER,
    "incentives": {
        "advocate": {
            "kind": "credit",
            "value": "50.00",
            "currency": "USD",
            "description": "$50 store credit",
        },
        "friend": {
            "kind": "coupon",
            "coupon_list": "friend-15",
            "value": "15.00",
            "currency": "USD",
            "description": "another 15% off once the referral is approved",
        },
    },
    "fraud": {"checks": {"self_referral_ip": "flag"}},
    "delays": {"auto_approval_hours": 72},
}

FIRST_NAMES = (
    "Olivia Liam Emma Noah Amelia Oliver Ava Elijah Sophia Mateo Isabella Lucas Mia Levi Charlotte Asher "
    "Harper James Evelyn Leo Luna Grayson Camila Ezra Gianna Luca Abigail Ethan Ella Aiden Nora Wyatt "
    "Priya Hiroshi Fatima Kwame Ingrid Dmitri Aisha Tomasz Mei Rafael Zainab Jonas Ines Kofi Yuki Sanjay "
    "Freya Malik Rosa Anders Leila Diego Hana Omar Greta Tariq Elena Bruno"
).split()
LAST_NAMES = (
    "Smith Johnson Garcia Brown Martinez Davis Rodriguez Lopez Wilson Anderson Thomas Moore Jackson Martin "
    "Lee Thompson White Harris Clark Lewis Walker Young Allen King Wright Scott Nguyen Hill Flores Green "
    "Adams Nelson Baker Campbell Mitchell Carter Roberts Okafor Tanaka Kowalski Haddad Lindqvist Mensah "
    "Petrov Castillo Novak Sato Rahman Fischer Moreau Oyelaran Brennan Achterberg Sorensen Quintero Ivanova"
).split()
DOMAINS = (
    ("gmail.com", 8),
    ("yahoo.com", 3),
    ("outlook.com", 3),
    ("icloud.com", 2),
    ("hotmail.com", 2),
    ("proton.me", 1),
    ("fastmail.com", 1),
    ("aol.com", 1),
)
STREETS = "Maple Oak Pine Cedar Elm Lakeview Hillcrest Sunset Park River Washington Highland Mill".split()
STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Lane", "Drive")
CITIES = (
    "Portland, OR",
    "Austin, TX",
    "Denver, CO",
    "Madison, WI",
    "Raleigh, NC",
    "Tucson, AZ",
    "Boise, ID",
    "Savannah, GA",
)
AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
)
# How a converting friend's purchase is attributed, and how often.
PATHS = (("coupon_code", 50), ("visitor_uuid", 15), ("email", 15), ("ip", 10), ("none", 10))
CHANNELS = (("email", 40), ("link", 30), ("sms", 15), ("social", 15))


@dataclass
class DemoResult:
    site: Site
    api_key: str
    staff_username: str
    staff_password: str
    counts: dict
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, role)


@dataclass(frozen=True)
class Someone:
    email: str
    first_name: str
    last_name: str


def _weighted(rng: random.Random, choices) -> str:
    names, weights = zip(*choices, strict=True)
    return rng.choices(names, weights=weights)[0]


class _Loader:
    """One demo load: the seeded random source, the actors, and the unique values handed out."""

    def __init__(self, *, site: Site, api_key_id: int, seed: int):
        self.site = site
        self.rng = random.Random(seed)
        self.api = ActorRef(kind="api", label="demo", api_key_id=api_key_id)
        self.staff = ActorRef(kind="staff", label="demo")
        self.emails: set[str] = set()
        self.ips: set[str] = set()
        self.orders = 0
        self.shares: dict[tuple[str, str, str], Share] = {}
        self.campaigns: dict[str, Campaign] = {}

    # --- unique, plausible values ------------------------------------------------

    def someone(self, *, domain: str = "") -> Someone:
        rng = self.rng
        while True:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = rng.choice(
                (f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{first}_{last}", f"{first}")
            ).lower()
            email = f"{local}@{domain or _weighted(rng, DOMAINS)}"
            if email not in self.emails:
                self.emails.add(email)
                return Someone(email, first, last)

    def ip(self) -> str:
        rng = self.rng
        while True:
            value = f"{rng.choice((24, 68, 73, 98, 99, 107))}.{rng.randrange(256)}.{rng.randrange(256)}"
            value += f".{rng.randrange(1, 255)}"
            if value not in self.ips:
                self.ips.add(value)
                return value

    def visitor(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def address(self) -> str:
        rng = self.rng
        street = f"{rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
        return f"{rng.randrange(10, 9900)} {street}, {rng.choice(CITIES)}"

    def subtotal(self) -> str:
        return str(Decimal(self.rng.randrange(1900, 32000)) / 100)

    def order(self) -> str:
        self.orders += 1
        return f"DO-{10400 + self.orders}"

    # --- the walk, through the services -----------------------------------------

    def share(
        self, *, campaign: str, advocate: Someone, channel: str, friend: str = "", ip: str = ""
    ) -> Share:
        """Email shares name one friend; an advocate's link, sms and social shares are reused."""
        key = (campaign, advocate.email, channel)
        if channel != "email" and key in self.shares:
            return self.shares[key]
        share = share_create(
            campaign=self.campaigns[campaign],
            advocate_email=advocate.email,
            first_name=advocate.first_name,
            last_name=advocate.last_name,
            channel=channel,
            friend_email=friend if channel == "email" else "",
            ip=ip or self.ip(),
            visitor_uuid=self.visitor(),
            actor=self.api,
        )
        if channel != "email":
            self.shares[key] = share
        return share

    def visit(self, share: Share, *, visitor: str, ip: str) -> None:
        visit_record(share=share, visitor_uuid=visitor, ip=ip, user_agent=self.rng.choice(AGENTS))

    def claim(self, share: Share, email: str, *, visitor: str = "", ip: str = "") -> str:
        return offer_claim(share=share, email=email, visitor_uuid=visitor, ip=ip, actor=self.api).coupon_code

    def purchase(self, buyer: Someone, **fields) -> Referral | None:
        data = {
            "type": "purchase",
            "id": self.order(),
            "email": buyer.email,
            "first_name": buyer.first_name,
            "last_name": buyer.last_name,
            "subtotal": self.subtotal(),
            "currency": "USD",
            "shipping_address": self.address(),
            **{name: value for name, value in fields.items() if value},
        }
        event = event_ingest(site=self.site, data=data, actor=self.api).event
        return event.referral

    def refer(self, *, campaign: str, advocate: Someone, friend: Someone, path: str) -> Referral | None:
        """One friend's walk from the advocate's share to (maybe) a purchase attributed by `path`."""
        channel = _weighted(self.rng, CHANNELS)
        share = self.share(campaign=campaign, advocate=advocate, channel=channel, friend=friend.email)
        visitor, ip = self.visitor(), self.ip()
        if path == "coupon_code":
            self.visit(share, visitor=visitor, ip=ip)
            code = self.claim(share, friend.email, visitor=visitor, ip=ip)
            return self.purchase(friend, coupon_codes=[code], visitor_uuid=visitor, ip=ip)
        if path == "visitor_uuid":
            self.visit(share, visitor=visitor, ip=ip)
            return self.purchase(friend, visitor_uuid=visitor, ip=self.ip())
        if path == "email":
            self.claim(share, friend.email)
            return self.purchase(friend, ip=self.ip(), visitor_uuid=self.visitor())
        if path == "ip":
            self.visit(share, visitor=visitor, ip=ip)
            return self.purchase(friend, ip=ip)
        # No purchase (yet): shared only, clicked, or clicked and claimed.
        step = self.rng.choice(("shared", "clicked", "claimed"))
        if step != "shared":
            self.visit(share, visitor=visitor, ip=ip)
        if step == "claimed":
            self.claim(share, friend.email, visitor=visitor, ip=ip)
        return None

    def set_status(self, referral: Referral | None, status: str, reason: str) -> None:
        if referral is not None:
            referral_set_status(referral=referral, status=status, actor=self.staff, reason=reason)


def _campaigns_and_coupons(loader: _Loader) -> None:
    site, rng = loader.site, loader.rng
    for body in (SPRING, VIP):
        definition = CampaignDefinition.model_validate(body)
        loader.campaigns[body["slug"]] = campaign_create(site=site, definition=definition, actor=loader.staff)
    for slug, prefix, count in (
        ("friend-15", "FRIEND15", FRIEND_CODES),
        ("advocate-20", "ADV20", ADVOCATE_CODES),
    ):
        codes = {
            f"{prefix}-{''.join(rng.choices('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', k=6))}" for _ in range(count)
        }
        coupon_list_top_up(site=site, slug=slug, codes=sorted(codes), actor=loader.staff)
    BlacklistEntry.objects.create(
        site=site, kind="domain", value=BLACKLISTED_DOMAIN, reason="Coupon-abuse ring seen in March."
    )


def _walk(loader: _Loader) -> None:
    rng = loader.rng
    stephanie = Someone("stephanie@ganleywestside.com", "Stephanie", "")
    levi = Someone("levi@yahoo.com", "Levi", "")
    loader.emails |= {stephanie.email, levi.email}

    # The seed's story first, so Stephanie's reward gets one of the few advocate codes.
    loader.refer(campaign="spring-referral", advocate=stephanie, friend=levi, path="coupon_code")

    advocates = [stephanie] + [loader.someone() for _ in range(ADVOCATES - 1)]
    campaign_of = {
        a.email: "spring-referral" if i < SPRING_ADVOCATES else "vip-referral"
        for i, a in enumerate(advocates)
    }
    weights = [rng.choice((1, 1, 1, 2, 3)) for _ in advocates]
    taken = Counter({stephanie.email: 1})
    spring_done, vip_pending = [], []
    for _ in range(FRIENDS - 9):  # Levi, and 8 friends in the stories below
        advocate = rng.choices(advocates, weights=weights)[0]
        while taken[advocate.email] >= 7:  # stay under the velocity check's 10 an hour
            advocate = rng.choice(advocates)
        taken[advocate.email] += 1
        campaign = campaign_of[advocate.email]
        referral = loader.refer(
            campaign=campaign, advocate=advocate, friend=loader.someone(), path=_weighted(rng, PATHS)
        )
        if referral is not None:
            (spring_done if campaign == "spring-referral" else vip_pending).append(referral)

    spring = [a for a in advocates if campaign_of[a.email] == "spring-referral"]
    vip = [a for a in advocates if campaign_of[a.email] == "vip-referral"]

    # Self-referral by email: the advocate buys with the code from their own share.
    for advocate in spring[3:5]:
        share = loader.share(campaign="spring-referral", advocate=advocate, channel="link")
        visitor, ip = loader.visitor(), loader.ip()
        code = loader.claim(share, advocate.email, visitor=visitor, ip=ip)
        loader.purchase(advocate, coupon_codes=[code], visitor_uuid=visitor, ip=ip)

    # Cross-referral: a friend who was referred refers the advocate back.
    first, second = spring[5], loader.someone()
    loader.refer(campaign="spring-referral", advocate=first, friend=second, path="coupon_code")
    loader.refer(campaign="spring-referral", advocate=second, friend=first, path="coupon_code")

    # Friends from the blacklisted domain: blocked; staff later unblock one.
    blacklisted = [
        loader.refer(
            campaign="spring-referral",
            advocate=advocate,
            friend=loader.someone(domain=BLACKLISTED_DOMAIN),
            path="coupon_code",
        )
        for advocate in spring[6:8]
    ]

    # Self-referral by IP under the VIP campaign: the friend claims from the advocate's network.
    flagged = []
    for advocate in vip[2:5]:
        home = loader.ip()
        share = loader.share(campaign="vip-referral", advocate=advocate, channel="email", ip=home)
        friend, visitor = loader.someone(), loader.visitor()
        loader.visit(share, visitor=visitor, ip=home)
        code = loader.claim(share, friend.email, visitor=visitor, ip=home)
        flagged.append(loader.purchase(friend, coupon_codes=[code], visitor_uuid=visitor, ip=home))

    # Purchases that came from no share (no referral), and one refund.
    for _ in range(4):
        loader.purchase(loader.someone(), ip=loader.ip(), visitor_uuid=loader.visitor())
    if spring_done:
        refunded = spring_done[-1]
        event_ingest(
            site=loader.site,
            data={
                "type": "refund",
                "id": f"R-{refunded.order_number}",
                "order_id": refunded.order_number,
                "email": refunded.friend.email,
                "subtotal": str(refunded.subtotal),
                "currency": "USD",
            },
            actor=loader.api,
        )

    # Staff at work.
    loader.set_status(
        flagged[0],
        "approved",
        "Roommates sharing one Wi-Fi; confirmed by phone, different cards and addresses.",
    )
    if len(vip_pending) > 3:
        loader.set_status(vip_pending[1], "voided", "Order cancelled by the customer before shipping.")
        loader.set_status(
            vip_pending[3], "flagged", "Chargeback opened on the friend's order; holding the reward."
        )
    loader.set_status(
        blacklisted[0], "unblocked", "Legitimate customer: the domain rule is too broad, verified by support."
    )

    # Referrals entered by hand (the portal's "Create referral").
    for campaign, advocate_someone, subtotal in (
        ("vip-referral", vip[0], "129.00"),
        ("spring-referral", spring[1], "64.50"),
    ):
        advocate = person_get_or_create(site=loader.site, email=advocate_someone.email)
        friend_someone = loader.someone()
        friend = person_get_or_create(
            site=loader.site,
            email=friend_someone.email,
            first_name=friend_someone.first_name,
            last_name=friend_someone.last_name,
        )
        referral_create_manual(
            campaign=loader.campaigns[campaign],
            advocate=advocate,
            friend=friend,
            actor=loader.staff,
            order_number=loader.order(),
            subtotal=Decimal(subtotal),
            currency="USD",
        )


def _staff_users(site: Site) -> list[tuple[str, str, str]]:
    """The demo's logins, as (username, password, role); existing users get a new password."""
    User = get_user_model()
    logins = []
    for username, role in STAFF_USERS:
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(username=username).first() or User(username=username)
        user.email = user.email or f"{username}@example.com"
        user.is_staff = user.is_superuser = role == "admin"
        user.is_active = True
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(site=site, user=user, defaults={"role": role})
        logins.append((username, password, role))
    return logins


def demo_counts(site: Site) -> dict:
    def by_status(model) -> dict[str, int]:
        return dict(sorted(Counter(model.objects.filter(site=site).values_list("status", flat=True)).items()))

    return {
        "referrals": by_status(Referral),
        "rewards": by_status(Reward),
        "people": site.people.count(),
        "shares": site.shares.count(),
        "visits": site.visits.count(),
        "offers": site.offers.count(),
        "events": site.events.count(),
    }


def demo_load(
    *, site_slug: str = "demo", seed: int = 7, out: Callable[[str], object] = print
) -> DemoResult | None:
    """Load the demo site, or return None if a site with this slug exists already."""
    if Site.objects.filter(slug=site_slug).exists():
        return None
    with transaction.atomic():
        site = site_create(slug=site_slug, name="Demo Outfitters")
        key, raw_key = api_key_create(site=site, name="demo")
        logins = _staff_users(site)
        loader = _Loader(site=site, api_key_id=key.pk, seed=seed)
        _campaigns_and_coupons(loader)
        _walk(loader)
        counts = demo_counts(site)

    def listed(statuses: dict[str, int]) -> str:
        return ", ".join(f"{status} {n}" for status, n in statuses.items())

    out(f"Loaded demo site '{site.slug}' ({site.name}).")
    out(f"Referrals: {listed(counts['referrals'])}")
    out(f"Rewards: {listed(counts['rewards'])}")
    for username, password, role in logins:
        out(f"Login: {username} / {password} ({role})")
    out(f"API key: {raw_key}")
    admin = logins[0]
    return DemoResult(
        site=site,
        api_key=raw_key,
        staff_username=admin[0],
        staff_password=admin[1],
        counts=counts,
        logins=logins,
    )
