"""`manage.py rescore`: work off the dirty marks now, or with --all recompute every score."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from tqdm import tqdm

from dashboards.cache import figures_changed
from scoring import recompute


class Command(BaseCommand):
    help = (
        "Recompute customer scores and daily rollups: those marked dirty by recent writes, "
        "or with --all every one of them (the nightly task does the same)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--all", action="store_true", help=("recompute every score and rollup, with a progress bar")
        )
        parser.add_argument(
            "--rewrite-masses",
            action="store_true",
            help=(
                "first rewrite every experience's stored masses: needed after changing CXM_HALF_LIFE_DAYS "
                "or CXM_EMOTIONAL_SHARE; implies --all"
            ),
        )

    def handle(self, *args, rewrite_masses: bool, **options) -> None:
        if rewrite_masses:
            count = recompute.rewrite_masses()
            self.stdout.write(_("Rewrote the masses of %(count)d experiences.") % {"count": count})
        if options["all"] or rewrite_masses:
            with tqdm(desc=_("rescoring"), unit=_("step")) as bar:
                result = recompute.rescore_all(progress=lambda done, total: _advance(bar, done, total))
        else:
            result = recompute.rescore_dirty()
        figures_changed()
        self.stdout.write(self._summary(result))

    def _summary(self, result: recompute.RescoreResult) -> str:
        return _(
            "Rescored %(customers)d customers and %(days)d days: %(changed)d scores changed, "
            "%(at_risk)d customers became at risk."
        ) % {
            "customers": result.customers,
            "days": result.days,
            "changed": result.changed,
            "at_risk": len(result.became_at_risk),
        }


def _advance(bar: tqdm, done: int, total: int) -> None:
    bar.total = total
    bar.update(done - bar.n)
