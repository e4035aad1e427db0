from django.urls import path

from vouch.portal.views import accounts, lookup, manage, work

app_name = "portal"

urlpatterns = [
    path("", lookup.home, name="home"),
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", accounts.LogoutView.as_view(), name="logout"),
    path("site/", accounts.site_switch, name="site-switch"),
    path("search/", lookup.search, name="search"),
    path("people/<int:person_id>/", lookup.person, name="person"),
    path("people/<int:person_id>/why/", lookup.person_why, name="person-why"),
    path("referrals/new/", work.referral_create, name="referral-create"),
    path("referrals/queue/", work.referral_queue_page, name="queue"),
    path("referrals/<int:referral_id>/", lookup.referral, name="referral"),
    path("referrals/<int:referral_id>/status/", lookup.referral_status, name="referral-status"),
    path("emails/<int:email_id>/", lookup.email, name="email"),
    path("emails/<int:email_id>/resend/", lookup.email_resend_now, name="email-resend"),
    path("campaigns/", manage.campaigns, name="campaigns"),
    path("campaigns/search.json", work.campaign_picker, name="campaign-picker"),
    path("campaigns/<slug:slug>/", manage.campaign, name="campaign"),
    path("campaigns/<slug:slug>/settings/", manage.campaign_settings, name="campaign-settings"),
    path("campaigns/<slug:slug>/json/", manage.campaign_json, name="campaign-json"),
    path("coupon-lists/", work.coupon_lists, name="coupon-lists"),
    path("coupon-lists/<slug:slug>/", work.coupon_list, name="coupon-list"),
    path("imports/", work.imports, name="imports"),
    path("imports/<int:upload_id>/", work.import_preview, name="import"),
    path("imports/<int:upload_id>/apply/", work.import_apply, name="import-apply"),
    path("imports/<int:upload_id>/undo/", work.import_undo, name="import-undo"),
    path("staff/", manage.staff, name="staff"),
    path("staff/<int:membership_id>/role/", manage.staff_role, name="staff-role"),
    path("staff/<int:membership_id>/remove/", manage.staff_remove, name="staff-remove"),
]
