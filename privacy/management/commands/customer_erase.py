"""`manage.py customer_erase EXTERNAL_ID`: anonymise a customer, keep their experiences (audited)."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from privacy.services import erase_customer

from .customer_export import find_customer


class Command(BaseCommand):
    help = (
        "Anonymise a customer: name, e-mail, CRM id, notes, survey and case comments. Their experiences stay, "
        "anonymous, so scores and reports stay true. Recorded in the audit log. Cannot be undone."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("external_id", help="The customer's id in the CRM.")
        parser.add_argument("--by", default="", help="Who asked for it, for the audit log (default: the OS user).")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, external_id: str, by: str, interactive: bool, **options) -> None:
        customer = find_customer(external_id)
        if interactive:
            answer = input(f"Erase the personal data of {customer}? This cannot be undone. Type 'yes': ")
            if answer.strip().lower() != "yes":
                raise CommandError("not erased")
        entry = erase_customer(customer=customer, actor_label=by or getpass.getuser(), via="command")
        scrubbed = ", ".join(f"{name} {count}" for name, count in entry.detail["scrubbed"].items())
        self.stdout.write(f"erased {external_id!r}: now {f'erased-{customer.pk}'!r}; scrubbed {scrubbed}")
