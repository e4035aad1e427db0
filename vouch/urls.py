from django.contrib import admin
from django.urls import include, path

from vouch.api.main import mount
from vouch.shares.views import share_landing

api = mount()

urlpatterns = [
    path("api/v1/", api.urls),
    path("r/<str:code>", share_landing, name="share-landing"),
    path("anymail/", include("anymail.urls")),
    path("admin/", admin.site.urls),
    path("", include("vouch.emails.urls")),
    path("", include("vouch.portal.urls")),
]
