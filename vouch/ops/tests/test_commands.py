"""The operators' commands."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conftest import CAMPAIGN, ApiClient


@pytest.mark.django_db
def test_createsite_prints_a_working_api_key_as_its_last_line():
    out = StringIO()
    call_command("createsite", "shop", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]

    api = ApiClient(key)
    assert api.get("/referrals").status_code == 200
    assert ApiClient(key + "x").get("/referrals").status_code == 401


@pytest.mark.django_db
def test_createsite_refuses_a_taken_slug():
    call_command("createsite", "shop", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("createsite", "shop", stdout=StringIO())


@pytest.mark.django_db
def test_campaign_command_creates_then_updates_from_the_json_form(tmp_path):
    call_command("createsite", "shop", stdout=StringIO())
    path = tmp_path / "spring.json"
    path.write_text(json.dumps(CAMPAIGN))
    out = StringIO()
    call_command("campaign", "shop", str(path), stdout=out)
    path.write_text(json.dumps({**CAMPAIGN, "name": "Spring, renamed"}))
    call_command("campaign", "shop", str(path), stdout=out)

    assert [json.loads(line)["version"] for line in out.getvalue().splitlines()] == [1, 2]


@pytest.mark.django_db
def test_campaign_command_names_each_invalid_field(tmp_path):
    call_command("createsite", "shop", stdout=StringIO())
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**CAMPAIGN, "delays": {"auto_approval_hours": -1}}))
    with pytest.raises(CommandError, match="delays.auto_approval_hours"):
        call_command("campaign", "shop", str(path), stdout=StringIO())
