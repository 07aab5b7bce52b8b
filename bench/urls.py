"""The app's URLs and, for bench/ingest.py only, a textbook DRF create view to measure the single POST against.

The textbook view is what the DRF tutorial writes: API-key authentication, a ModelSerializer
(its related fields looked up by primary key), one INSERT. It is never part of the app.
"""

from typing import Any

from django.urls import path
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission

from cxm.urls import urlpatterns as app_urlpatterns
from experiences.models import Experience
from integrations.authentication import ApiKeyAuthentication


class TextbookExperienceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Experience
        fields = ["id", "customer", "touchpoint", "department", "stage", "valence", "intensity", "occurred_at", "note"]


class HasKey(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.auth is not None


class TextbookExperienceCreate(generics.CreateAPIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasKey]
    serializer_class = TextbookExperienceSerializer

    def perform_create(self, serializer: Any) -> None:
        at = serializer.validated_data["occurred_at"]
        serializer.save(occurred_on=at.date(), source="api", impact=0, positive_mass_norm=0, negative_mass_norm=0)


urlpatterns = [
    path("bench/textbook/experiences/", TextbookExperienceCreate.as_view()),
    *app_urlpatterns,
]
