"""Every curl example in docs/api.md runs, in order, against the app and gets a JSON success."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from feedback.models import Survey
from integrations.models import Scope
from integrations.services import create_api_key

from .test_case_pages import case  # noqa: F401 - the fixture

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
EXAMPLES = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples_for_every_kind_of_call():
    assert len(EXAMPLES) >= 6


@pytest.mark.django_db(transaction=True)
def test_every_curl_example_succeeds_against_the_app(live_server, touchpoint, case, staff_user):  # noqa: F811
    Survey.objects.create(slug="delivery-nps", name="Delivery NPS", kind="nps", touchpoint=touchpoint)
    key = create_api_key(name="docs", scopes=Scope.values)[1]
    env = {"CXM": live_server.url, "KEY": key, "CASE": str(case.pk), "PATH": "/usr/bin:/bin"}
    for example in EXAMPLES:
        # Comment lines explain the commands; each curl runs on its own.
        commands = "\n".join(line for line in example.strip().splitlines() if not line.startswith("#"))
        for command in re.split(r"\n(?=curl )", commands):
            done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            json.loads(done.stdout)
