"""People who use CXM: staff log experiences, managers watch their departments, admins run it."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    STAFF = "staff", _("Staff")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Admin")


class User(AbstractUser):
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    departments = models.ManyToManyField("touchpoints.Department", blank=True, related_name="members")
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The language of CXM's pages and e-mails for this person; empty: the browser's language."),
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid")]

    @property
    def is_cx_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER
