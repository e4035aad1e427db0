from django.urls import path

from vouch.emails.views import unsubscribe

app_name = "emails"

urlpatterns: list = [
    path("u/<str:token>", unsubscribe, name="unsubscribe"),
]
