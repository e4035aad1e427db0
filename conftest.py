import json

import pytest
from django.test import Client

from vouch import clock
from vouch.rewards.services import coupon_list_top_up
from vouch.sites.services import api_key_create, site_create

CAMPAIGN = {
    "slug": "spring",
    "name": "Spring referral",
    "pipeline": "purchase_with_fraud_review",
    "friend_offer": {"coupon_list": "friend-codes", "expires_in_days": 30, "description": "15% off"},
    "incentives": {
        "advocate": {"kind": "coupon", "coupon_list": "advocate-codes", "value": "20.00", "currency": "USD"},
    },
    "delays": {"auto_approval_hours": 0},
}


class ApiClient:
    """The integration API as a merchant's server calls it."""

    def __init__(self, key: str):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"}

    def post(self, path: str, body: dict | None = None, **headers):
        return self.client.post(
            f"/api/v1{path}",
            data=json.dumps(body or {}),
            content_type="application/json",
            headers={**self.headers, **headers},
        )

    def put(self, path: str, body: dict):
        return self.client.put(
            f"/api/v1{path}", data=json.dumps(body), content_type="application/json", headers=self.headers
        )

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", data=params, headers=self.headers)


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def site(db):
    return site_create(slug="acme", name="Acme")


@pytest.fixture
def api(site):
    _, raw = api_key_create(site=site)
    return ApiClient(raw)


@pytest.fixture
def other_api(db):
    other = site_create(slug="globex", name="Globex")
    _, raw = api_key_create(site=other)
    return ApiClient(raw)


def stock(site, slug: str, codes: list[str]):
    from vouch.audit.services import ActorRef

    return coupon_list_top_up(site=site, slug=slug, codes=codes, actor=ActorRef(kind="staff", label="test"))


@pytest.fixture
def campaign(api, site):
    response = api.post("/campaigns", CAMPAIGN)
    assert response.status_code == 201, response.content
    stock(site, "friend-codes", [f"FRIEND{i:03}" for i in range(20)])
    stock(site, "advocate-codes", [f"ADV{i:03}" for i in range(20)])
    return response.json()


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL row locks: run with DATABASE_URL=postgresql://…")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
