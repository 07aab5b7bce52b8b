"""`manage.py create_api_key NAME --scopes a,b`: print a new API key once."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from integrations.models import Scope
from integrations.services import create_api_key


class Command(BaseCommand):
    help = "Create an API key with scopes and print it once (it is stored only hashed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="Who uses the key, e.g. the integration's name (50 characters max).")
        parser.add_argument(
            "--scopes", required=True, help=f"Comma-separated scopes: {', '.join(Scope.values)}, or 'all'."
        )
        parser.add_argument("--expires", help="ISO 8601 date and time after which the key stops working.")
        parser.add_argument("--rate", default="", help="Throttle rate for this key, e.g. 1200/minute.")
        parser.add_argument(
            "--departments",
            default="",
            help="Comma-separated department codes the key is limited to; by default the whole company.",
        )

    def handle(
        self, *args, name: str, scopes: str, expires: str | None, rate: str, departments: str, **options
    ) -> None:
        wanted = Scope.values if scopes.strip() == "all" else [s.strip() for s in scopes.split(",") if s.strip()]
        expiry = parse_datetime(expires) if expires else None
        if expires and expiry is None:
            raise CommandError(f"--expires must be an ISO 8601 date and time, got {expires!r}")
        if len(name) > 50:
            raise CommandError("the name must be at most 50 characters")
        try:
            api_key, key = create_api_key(
                name=name,
                scopes=wanted,
                expiry_date=expiry,
                throttle_rate=rate,
                departments=[c.strip() for c in departments.split(",") if c.strip()],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"API key {api_key.name!r} with scopes {', '.join(api_key.scopes)}; store it now:")
        self.stdout.write(key)
