"""Every management command of the project answers `--help` with its usage, none crashes."""

from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class

PROJECT_COMMANDS = sorted(
    (app, name)
    for name, app in get_commands().items()
    if Path(import_module(app).__file__).resolve().is_relative_to(settings.BASE_DIR)
    and "site-packages" not in Path(import_module(app).__file__).parts  # a virtualenv inside the checkout
)


def test_the_project_has_its_own_commands():
    assert {"seed_demo", "rescore", "invite", "create_api_key"} <= {name for _, name in PROJECT_COMMANDS}


@pytest.mark.parametrize(("app", "name"), PROJECT_COMMANDS, ids=[name for _, name in PROJECT_COMMANDS])
def test_help_runs_and_describes_the_command(app, name, capsys):
    command = load_command_class(app, name)
    command.print_help("manage.py", name)
    out = capsys.readouterr().out
    assert out.startswith(f"usage: manage.py {name}")
    assert str(command.help).split()[0] in out
