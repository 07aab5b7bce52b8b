from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        """Edits of what the pages name (departments, touchpoints, owners, journeys, steps) renew the cached figures."""
        from journeys.models import Journey, JourneyStep
        from touchpoints.models import Department, Touchpoint, TouchpointOwner

        from .cache import figures_changed

        def changed(**_kwargs) -> None:
            figures_changed()

        for model in (Department, Touchpoint, TouchpointOwner, Journey, JourneyStep):
            post_save.connect(changed, sender=model, dispatch_uid=f"dashboards-figures-{model.__name__}-save")
            post_delete.connect(changed, sender=model, dispatch_uid=f"dashboards-figures-{model.__name__}-delete")
        for field in Touchpoint._meta.many_to_many:
            m2m_changed.connect(
                changed, sender=field.remote_field.through, dispatch_uid=f"dashboards-figures-{field.name}"
            )
