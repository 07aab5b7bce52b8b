"""Top-level URL map: staff pages, the admin, and the REST API under /api/v1/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from accounts import views as account_views
from cxm import health

admin.site.site_header = _("CXM administration")
admin.site.site_title = _("CXM admin")
admin.site.index_title = _("Catalogue, customers, surveys and integrations")

urlpatterns = [
    path("", account_views.home, name="home"),
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("img/favicon.svg"), permanent=True)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("integrations.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("login/second-factor/", account_views.verify, name="second-factor"),
    path("login/second-factor/set-up/", account_views.set_up, name="second-factor-setup"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", account_views.profile, name="profile"),
    path("language/", account_views.set_language, name="set-language"),
    # Company sign-in (django-allauth): only its OpenID Connect and sign-up pages; its links to a
    # log-in page lead to CXM's own.
    path("accounts/login/", RedirectView.as_view(pattern_name="login", query_string=True), name="account_login"),
    path("accounts/", include("allauth.socialaccount.urls")),
    path("accounts/", include("allauth.socialaccount.providers.openid_connect.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("customers/", include("customers.urls")),
    path("journeys/", include("journeys.urls")),
    path("", include("feedback.urls")),
    path("", include("experiences.urls")),
]
