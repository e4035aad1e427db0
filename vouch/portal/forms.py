"""The portal's forms: they parse and check what staff type, and say which field is wrong
and why. Anything that changes state is left to the view's one service call."""

import json
from decimal import Decimal

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from pydantic import ValidationError

from vouch import clock
from vouch.campaigns.definition import CampaignDefinition
from vouch.fraud.checks import CHECK_LABELS, CHECKS, DEFAULT_ACTIONS
from vouch.pipelines import STATUSES
from vouch.portal.access import client_ip
from vouch.portal.services import login_failure_record, login_failures_clear, login_locked_until
from vouch.sites.models import Role


class LockingAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing a username that failed too often from this address."""

    def clean(self):
        username = (self.data.get("username") or "").strip()
        ip = client_ip(self.request) if self.request else ""
        until = login_locked_until(username=username, ip=ip) if username else None
        if until is not None:
            minutes = max(1, int((until - clock.now()).total_seconds() // 60) + 1)
            raise forms.ValidationError(
                f"Too many failed logins for this username: try again in {minutes} minutes.",
                code="locked_out",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if username:
                login_failure_record(username=username, ip=ip)
            raise
        login_failures_clear(username=username, ip=ip)
        return cleaned


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Email, order number or coupon code",
        max_length=254,
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "autofocus": True, "placeholder": "levi@example.com"}
        ),
    )


class StatusChangeForm(forms.Form):
    status = forms.ChoiceField(choices=[(s, s) for s in STATUSES])
    reason = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    confirm = forms.BooleanField(
        required=True,
        label="I have checked this referral and confirm the change",
        error_messages={"required": "Tick the confirmation box to make this change."},
    )


def _campaign_choices(campaigns) -> list[tuple[str, str]]:
    return [("", "— choose a campaign —")] + [(c.slug, f"{c.name} ({c.slug})") for c in campaigns]


class CreateReferralForm(forms.Form):
    advocate_email = forms.EmailField(label="Advocate's email", max_length=254)
    friend_email = forms.EmailField(label="Friend's email (optional)", max_length=254, required=False)
    order_number = forms.CharField(label="Order number", max_length=200, required=False)
    subtotal = forms.DecimalField(
        label="Order subtotal",
        min_value=Decimal("0"),
        max_value=Decimal("999999999999.99"),
        max_digits=14,
        decimal_places=2,
    )
    campaign = forms.ChoiceField(label="Campaign")

    def __init__(self, *args, campaigns, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaigns = {c.slug: c for c in campaigns}
        self.fields["campaign"].choices = _campaign_choices(campaigns)

    def clean_campaign(self):
        return self.campaigns[self.cleaned_data["campaign"]]


class BulkStatusForm(forms.Form):
    referral = forms.TypedMultipleChoiceField(
        coerce=int, error_messages={"required": "Select at least one row."}
    )
    status = forms.ChoiceField(choices=[("approved", "Approve"), ("voided", "Void")])
    reason = forms.CharField(max_length=1000, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        raw = self.data.getlist("referral") if hasattr(self.data, "getlist") else []
        self.fields["referral"].choices = [(v, v) for v in raw if str(v).isdigit() and len(str(v)) < 19]


def code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, code) for each non-blank line; a CSV line counts its first cell."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split(",")[0].split(";")[0].strip().strip('"')
        if code:
            found.append((number, code))
    return found


class AddCouponsForm(forms.Form):
    codes = forms.CharField(
        label="Codes, one per line", required=False, widget=forms.Textarea(attrs={"rows": 8})
    )
    file = forms.FileField(label="…or a text or CSV file (first column)", required=False)

    MAX_BYTES = 10 * 1024 * 1024

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("codes") or ""
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError({"file": "The file is larger than 10 MB."})
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as error:
                raise forms.ValidationError({"file": "The file is not UTF-8 text."}) from error
        lines = code_lines(text.replace("\x00", ""))
        if not lines:
            raise forms.ValidationError("Paste at least one code or choose a file.")
        cleaned["lines"] = lines
        return cleaned


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file")


ACTION_CHOICES = [("", "default"), ("ignore", "ignore"), ("flag", "flag"), ("block", "block")]


class CampaignSettingsForm(forms.Form):
    """Fraud settings, delays and limits; builds a new definition from the current one."""

    velocity_per_hour = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)
    velocity_per_day = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)
    advocate_rewards_lifetime = forms.IntegerField(required=False, min_value=0, max_value=1_000_000)
    advocate_rewards_per_year = forms.IntegerField(required=False, min_value=0, max_value=1_000_000)
    advocate_rewards_per_30_days = forms.IntegerField(required=False, min_value=0, max_value=1_000_000)
    auto_approval_hours = forms.FloatField(min_value=0, max_value=24 * 365)

    def __init__(self, *args, definition: CampaignDefinition, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        for check in CHECKS:
            self.fields[f"check_{check}"] = forms.ChoiceField(
                label=CHECK_LABELS[check],
                choices=ACTION_CHOICES,
                required=False,
                help_text=f"default: {DEFAULT_ACTIONS[check]}",
            )
        if not self.is_bound:
            self.initial = {
                **{f"check_{c}": a for c, a in definition.fraud.actions().items()},
                "velocity_per_hour": definition.fraud.velocity_per_hour,
                "velocity_per_day": definition.fraud.velocity_per_day,
                **definition.limits.model_dump(),
                "auto_approval_hours": definition.delays.auto_approval_hours,
            }

    def check_fields(self):
        return [self[f"check_{c}"] for c in CHECKS]

    def new_definition(self) -> CampaignDefinition:
        data = self.definition.model_dump(mode="json")
        c = self.cleaned_data
        data["fraud"] = {
            "checks": {check: c[f"check_{check}"] or None for check in CHECKS},
            "velocity_per_hour": c["velocity_per_hour"],
            "velocity_per_day": c["velocity_per_day"],
        }
        data["limits"] = {
            name: c[name]
            for name in (
                "advocate_rewards_lifetime",
                "advocate_rewards_per_year",
                "advocate_rewards_per_30_days",
            )
        }
        data["delays"] = {"auto_approval_hours": c["auto_approval_hours"]}
        return CampaignDefinition.model_validate(data)


def pydantic_errors(error: ValidationError) -> list[tuple[str, str]]:
    """(field path, message) for each problem, e.g. ("fraud.checks.velocity", "Input should be …")."""
    return [
        (".".join(str(p) for p in e["loc"]) or "(the whole definition)", e["msg"]) for e in error.errors()
    ]


class CampaignJsonForm(forms.Form):
    definition = forms.CharField(widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}))

    def clean_definition(self):
        raw = self.cleaned_data["definition"]
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"Not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
            ) from error
        try:
            return CampaignDefinition.model_validate(data)
        except ValidationError as error:
            self.field_errors = pydantic_errors(error)
            raise forms.ValidationError(
                [f"{where}: {message}" for where, message in self.field_errors]
            ) from error


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SiteSwitchForm(forms.Form):
    site = forms.IntegerField()
