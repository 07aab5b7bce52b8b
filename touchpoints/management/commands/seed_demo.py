"""`manage.py seed_demo`: the demo catalogue, customers, a year of experiences and three demo users."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from experiences.demo import seed_demo
from feedback.demo import seed_feedback

LABELS = {
    "departments": gettext_lazy("departments"),
    "touchpoints": gettext_lazy("touchpoints"),
    "journeys": gettext_lazy("journeys"),
    "customers": gettext_lazy("customers"),
    "users": gettext_lazy("users"),
    "experiences": gettext_lazy("experiences"),
}


class Command(BaseCommand):
    help = (
        "Create the demo departments, touchpoints, journeys, customers, experiences and users. "
        "Safe to run twice: what is already there is left alone."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--customers", type=int, default=2000, help=("customers (default 2000)"))
        parser.add_argument(
            "--experiences", type=int, default=50000, help=("experiences over 12 months (default 50000)")
        )
        parser.add_argument("--seed", type=int, default=42, help=("random seed (default 42)"))

    def handle(self, *args, customers: int, experiences: int, seed: int, **options) -> None:
        if customers < 1 or experiences < 0:
            raise CommandError(
                _("--customers must be at least 1 and --experiences at least 0, got %(c)d and %(e)d")
                % {"c": customers, "e": experiences}
            )
        report = seed_demo(customers=customers, experiences=experiences, seed=seed)
        self.stdout.write(_("Demo data (seed %(seed)d), %(s).1f s:") % {"seed": seed, "s": report.seconds})
        for kind, tally in report.tallies.items():
            self.stdout.write(
                _("  %(kind)-12s %(created)6d created, %(existing)6d already there")
                % {"kind": LABELS[kind], "created": tally.created, "existing": tally.existing}
            )
        if report.rejected:
            self.stdout.write(
                self.style.WARNING(
                    _("  %(n)d experiences were rejected: a demo touchpoint or department was changed in the admin.")
                    % {"n": report.rejected}
                )
            )
        surveys = seed_feedback(seed=seed)
        if surveys:
            self.stdout.write(
                _("  surveys: %(surveys)d with their rules, %(invitations)d invitations, %(answers)d answers") % surveys
            )
        self.stdout.write(_("Demo users, sign in at /login/:"))
        for user, created in report.users:
            role = Role(user.role).label + (f" ({', '.join(user.departments)})" if user.departments else "")
            state = "" if created else _(" — already there: the password was not reset")
            self.stdout.write(f"  {user.username:<13} {_('password:')} {user.password:<28} {role}{state}")
        self.stdout.write(_("Scores are computed after the commit, by the scoring tasks."))
