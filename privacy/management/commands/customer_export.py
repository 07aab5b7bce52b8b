"""`manage.py customer_export EXTERNAL_ID`: everything held about a customer, as JSON (audited)."""

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from privacy.queries import last_erasure
from privacy.services import export_customer


def find_customer(external_id: str) -> Customer:
    customer = Customer.objects.filter(external_id=external_id).first()
    if customer is not None:
        return customer
    erasure = last_erasure(external_id)
    if erasure is not None:
        raise CommandError(
            f"customer {external_id!r} was erased on {erasure.at:%Y-%m-%d %H:%M} by {erasure.actor_label}"
        )
    raise CommandError(f"no customer with external id {external_id!r}")


class Command(BaseCommand):
    help = "Write everything held about one customer as JSON (to stdout or --output); recorded in the audit log."

    def add_arguments(self, parser) -> None:
        parser.add_argument("external_id", help="The customer's id in the CRM.")
        parser.add_argument("--output", help="Write to this file instead of standard output.")
        parser.add_argument("--by", default="", help="Who asked for it, for the audit log (default: the OS user).")

    def handle(self, *args, external_id: str, output: str | None, by: str, **options) -> None:
        customer = find_customer(external_id)
        text = export_customer(customer=customer, actor_label=by or getpass.getuser(), via="command")
        if output:
            Path(output).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"wrote {output}")
        else:
            self.stdout.write(text)
