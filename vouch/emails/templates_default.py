"""Default subject and text of each email type, in Django's template language over
a fixed context (person, referral, reward, campaign, share_url)."""

DEFAULTS: dict[str, dict[str, str]] = {
    "advocate_reward_paid": {
        "label": "Advocate Reward Paid Email",
        "subject": "Your referral reward from {{ campaign.name }}",
        "text": (
            "Hi {{ person.first_name|default:'there' }},\n\n"
            "Thanks for referring {{ friend_email }}! Your reward"
            "{% if reward.code %}: {{ reward.code }}{% endif %}"
            "{% if reward.value %} ({{ reward.value }} {{ reward.currency }}){% endif %}.\n"
        ),
    },
    "friend_reward": {
        "label": "Friend Reward Email",
        "subject": "Your reward from {{ campaign.name }}",
        "text": (
            "Hi {{ person.first_name|default:'there' }},\n\n"
            "Here is your reward{% if reward.code %}: {{ reward.code }}{% endif %}"
            "{% if reward.value %} ({{ reward.value }} {{ reward.currency }}){% endif %}.\n"
        ),
    },
    "friend_share": {
        "label": "Friend Share Email",
        "subject": "{{ advocate_name }} sent you an offer",
        "text": "{{ advocate_name }} thinks you'll like {{ campaign.name }}: {{ share_url }}\n",
    },
}

LABELS = {name: spec["label"] for name, spec in DEFAULTS.items()}
