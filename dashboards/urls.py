from django.urls import path

from . import views

app_name = "dashboards"
urlpatterns = [
    path("", views.company, name="company"),
    path("<slug:code>/", views.department, name="department"),
]
