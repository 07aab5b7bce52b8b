"""`manage.py invite --survey SLUG --customers FILE_OR_SEGMENT`: invite customers in bulk by e-mail."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from feedback import services
from feedback.models import Survey


class Command(BaseCommand):
    help = (
        "Invite customers to a survey: --customers is a file of external ids (one per line, or a CSV "
        "whose first column is the external id) or, if no such file exists, a segment name."
    )

    def add_arguments(self, parser):
        parser.add_argument("--survey", required=True, help="the survey's slug")
        parser.add_argument("--customers", required=True, help="a file of external ids, or a segment")

    def handle(self, *args, survey: str, customers: str, **options):
        found = Survey.objects.filter(slug=survey).first()
        if found is None:
            known = ", ".join(Survey.objects.values_list("slug", flat=True)) or "none yet: create one in the admin"
            raise CommandError(f"unknown survey {survey!r}; surveys are: {known}")
        chosen = self._customers(customers)
        try:
            batch = services.create_invitations(survey=found, customers=chosen)
        except services.FeedbackError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{len(batch.created)} invitations created and queued for e-mail; "
            f"{batch.already_invited} already invited, {batch.without_email} without an e-mail address"
        )

    def _customers(self, value: str):
        path = Path(value)
        if not path.is_file():
            chosen = Customer.objects.filter(segment=value)
            if not chosen.exists():
                raise CommandError(f"{value!r} is neither a file nor a segment with customers")
            return chosen
        ids = []
        for line in path.read_text(encoding="utf-8-sig").splitlines():
            first = line.split(",")[0].strip().strip('"')
            if first and first.lower() != "external_id":
                ids.append(first)
        chosen = Customer.objects.filter(external_id__in=ids)
        unknown = sorted(set(ids) - set(chosen.values_list("external_id", flat=True)))
        if unknown:
            shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
            raise CommandError(f"{len(unknown)} unknown external ids in {value}: {shown}; fix the file and run again")
        return chosen
