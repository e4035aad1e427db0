from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    """An ESP that is down: every send raises, as an SMTP or HTTP backend does."""

    def send_messages(self, email_messages):
        raise ConnectionError("ESP unavailable")
