"""The models and the migrations agree: a fresh database gets exactly what the code declares."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_makemigrations_check_finds_nothing_to_write():
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exit_:  # --check exits 1 when a migration is missing
        pytest.fail(f"models changed without a migration (makemigrations --check exited {exit_.code})")
