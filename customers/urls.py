from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("<path:external_id>/", views.timeline, name="timeline"),
]
