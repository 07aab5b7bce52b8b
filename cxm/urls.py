"""Top-level URL map: staff pages, the admin, and the REST API under /api/v1/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cxm import health

urlpatterns = [
    path("healthz/", health.healthz, name="healthz"),
    path("readyz/", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("integrations.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboards/", include("dashboards.urls")),
    path("customers/", include("customers.urls")),
    path("journeys/", include("journeys.urls")),
    path("", include("feedback.urls")),
    path("", include("experiences.urls")),
]
