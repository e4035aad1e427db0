"""Default subject, HTML and text of each email type, in Django's template language.

Templates see only the fixed context of `vouch.emails.rendering` (person, campaign,
referral, reward, offer, friend_email, advocate_name, share_url, unsubscribe_url),
never models. Admins override any of them per campaign or site-wide; the unsubscribe
footer is added to every email whatever its template says.
"""

_REWARD_LINE = (
    "{% if reward.code %}: {{ reward.code }}{% endif %}"
    "{% if reward.value %} ({{ reward.value }} {{ reward.currency }}){% endif %}"
)


def _html(body: str) -> str:
    return f"<!doctype html>\n<html><body>\n{body}\n</body></html>\n"


DEFAULTS: dict[str, dict[str, str]] = {
    "friend_share": {
        "label": "Friend Share Email",
        "subject": "{{ advocate_name }} sent you an offer",
        "text": "{{ advocate_name }} thinks you'll like {{ campaign.name }}: {{ share_url }}\n",
        "html": _html(
            "<p>{{ advocate_name }} thinks you'll like {{ campaign.name }}.</p>\n"
            '<p><a href="{{ share_url }}">See the offer</a></p>'
        ),
    },
    "friend_offer": {
        "label": "Friend Offer Email",
        "subject": "Your offer from {{ campaign.name }}",
        "text": (
            "Hi {{ person.first_name|default:'there' }},\n\n"
            "{% if offer.description %}{{ offer.description }}. {% endif %}"
            "Your code: {{ offer.coupon_code }}"
            "{% if offer.expires_at %} (valid until {{ offer.expires_at|date:'Y-m-d' }}){% endif %}.\n"
        ),
        "html": _html(
            "<p>Hi {{ person.first_name|default:'there' }},</p>\n"
            "<p>{% if offer.description %}{{ offer.description }}. {% endif %}"
            "Your code: <strong>{{ offer.coupon_code }}</strong>"
            "{% if offer.expires_at %} (valid until {{ offer.expires_at|date:'Y-m-d' }}){% endif %}.</p>"
        ),
    },
    "friend_reward": {
        "label": "Friend Reward Email",
        "subject": "Your reward from {{ campaign.name }}",
        "text": "Hi {{ person.first_name|default:'there' }},\n\nHere is your reward" + _REWARD_LINE + ".\n",
        "html": _html(
            "<p>Hi {{ person.first_name|default:'there' }},</p>\n<p>Here is your reward"
            + _REWARD_LINE
            + ".</p>"
        ),
    },
    "advocate_reward_paid": {
        "label": "Advocate Reward Paid Email",
        "subject": "Your referral reward from {{ campaign.name }}",
        "text": (
            "Hi {{ person.first_name|default:'there' }},\n\n"
            "Thanks for referring {{ friend_email }}! Your reward" + _REWARD_LINE + ".\n"
        ),
        "html": _html(
            "<p>Hi {{ person.first_name|default:'there' }},</p>\n"
            "<p>Thanks for referring {{ friend_email }}! Your reward" + _REWARD_LINE + ".</p>"
        ),
    },
    "advocate_referral_made": {
        "label": "Advocate Referral Made Email",
        "subject": "{{ friend_email|default:'Your friend' }} took up your {{ campaign.name }} offer",
        "text": (
            "Hi {{ person.first_name|default:'there' }},\n\n"
            "{{ friend_email|default:'Your friend' }} used your referral. We'll let you know as soon as "
            "your reward is ready.\n"
        ),
        "html": _html(
            "<p>Hi {{ person.first_name|default:'there' }},</p>\n"
            "<p>{{ friend_email|default:'Your friend' }} used your referral. We'll let you know as soon as "
            "your reward is ready.</p>"
        ),
    },
    "referral_reminder": {
        "label": "Referral Reminder Email",
        "subject": "Your {{ campaign.name }} offer is waiting",
        "text": (
            "Hi {{ person.first_name|default:'there' }},\n\n"
            "Your offer from {{ campaign.name }} is still waiting for you"
            "{% if share_url %}: {{ share_url }}{% endif %}.\n"
        ),
        "html": _html(
            "<p>Hi {{ person.first_name|default:'there' }},</p>\n"
            "<p>Your offer from {{ campaign.name }} is still waiting for you."
            '{% if share_url %} <a href="{{ share_url }}">Claim it</a>{% endif %}</p>'
        ),
    },
}

LABELS = {name: spec["label"] for name, spec in DEFAULTS.items()}
