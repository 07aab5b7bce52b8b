"""Every marked string has a Spanish translation, and the pages, money and dates follow the person's language."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import Context, Template
from django.utils import translation

from accounts.models import User
from tests.factories import UserFactory

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"
IGNORE = [".venv", "node_modules", "bench", "tests", "static", "staticfiles"]


@pytest.fixture
def extracted(tmp_path, settings, monkeypatch) -> polib.POFile:
    """The Spanish catalogue as `make messages` would leave it: committed entries plus any new marked string.

    makemessages writes into the `locale/` folder beside the sources it reads, so it runs on a copy
    of the project: the committed catalogue is never touched by the test.
    """
    copy = tmp_path / "project"
    skipped = (
        ".git",
        ".venv",
        "node_modules",
        "static",
        "staticfiles",
        "tests",
        "bench",
        "docs",
        "__pycache__",
        "*.mo",
    )
    shutil.copytree(settings.BASE_DIR, copy, ignore=shutil.ignore_patterns(*skipped), symlinks=True)
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["es"], ignore_patterns=IGNORE, verbosity=0, no_obsolete=True)
    return polib.pofile(str(copy / "locale" / "es" / "LC_MESSAGES" / "django.po"))


def test_every_marked_string_has_a_spanish_translation(extracted):
    missing = [entry.msgid for entry in extracted.untranslated_entries() + extracted.fuzzy_entries()]

    assert not missing, f"translate these in {CATALOGUE} (run `make messages` first): {missing}"


def test_the_committed_catalogue_has_no_left_over_strings(extracted):
    committed = {entry.msgid for entry in polib.pofile(str(CATALOGUE)) if not entry.obsolete}
    current = {entry.msgid for entry in extracted if not entry.obsolete}

    assert committed == current, "run `make messages` to refresh locale/es/LC_MESSAGES/django.po"


def test_placeholders_agree_in_both_languages():
    call_command("compilemessages", locale=["es"], ignore_patterns=IGNORE, verbosity=0)  # msgfmt --check-format


def render(source: str, language: str, **context) -> str:
    with translation.override(language):
        return Template("{% load dash i18n %}" + source).render(Context(context))


@pytest.mark.parametrize(("language", "shown"), [("en", "€2,131,200"), ("es", "2.131.200\xa0€")])
def test_money_carries_the_company_currency_and_the_language_separators(language, shown):
    assert render("{{ amount|money }}", language, amount=2131200) == shown


def test_another_company_currency_is_shown_by_its_own_sign(settings):
    settings.CXM_CURRENCY = "USD"

    assert render("{{ amount|money }}", "en", amount=1500.4) == "$1,500"


def test_dates_are_shown_in_the_company_time_zone_and_the_language_format():
    moment = datetime(2026, 11, 28, 22, 34, tzinfo=UTC)  # 23:34 in Madrid

    assert render('{{ moment|date:"SHORT_DATETIME_FORMAT" }}', "es", moment=moment) == "28/11/2026 23:34"
    assert render('{{ moment|date:"SHORT_DATETIME_FORMAT" }}', "en", moment=moment) == "28 Nov 2026, 23:34"


@pytest.mark.parametrize(
    ("change", "shown", "colour"),
    [(-0.04, "±0.0", "neutral"), (0.0, "±0.0", "neutral"), (-0.06, "−0.1", "negative"), (2.35, "+2.4", "positive")],
)
def test_trends_have_one_decimal_and_no_change_is_grey(change, shown, colour):
    assert render("{{ c|points }} {{ c|change_class }}", "en", c=change) == f"{shown} valence-{colour}"


def test_a_person_reads_the_pages_in_the_language_of_their_profile(client, staff_user):
    client.force_login(staff_user)

    response = client.post("/profile/", {"language": "es"})

    assert response.status_code == 302
    assert User.objects.get(pk=staff_user.pk).language == "es"
    page = client.get("/log/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="es"' in page
    assert "Registrar una experiencia" in page


def test_the_menu_switch_changes_the_language_and_returns_to_the_page(client, staff_user):
    client.force_login(staff_user)

    response = client.post("/language/", {"language": "es", "next": "/log/"})

    assert response.url == "/log/"
    assert User.objects.get(pk=staff_user.pk).language == "es"
    assert "Leer en español" not in client.get("/log/").content.decode()
    assert "Read in English" in client.get("/log/").content.decode()


def test_visitors_switch_language_by_cookie(client, db):
    client.post("/language/", {"language": "es", "next": "/login/"})

    assert "Iniciar sesión en CXM" in client.get("/login/").content.decode()


def test_an_unknown_language_is_refused_with_the_choices(client, db):
    response = client.post("/language/", {"language": "fr"})

    assert response.status_code == 400
    assert "en, es" in response.content.decode()


def test_without_a_profile_language_the_browser_decides(client, db):
    client.force_login(UserFactory(username="eve", language=""))

    assert "Registrar una experiencia" in client.get("/log/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()


def test_a_missing_page_says_so_in_the_readers_language(client, db):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 404
    assert "<h1>Página no encontrada</h1>" in response.content.decode()
    assert '<main class="container" id="main"' in response.content.decode()


def test_the_server_error_page_speaks_the_readers_language(client, db):
    from django.views.defaults import server_error

    request = client.get("/login/").wsgi_request
    with translation.override("es"):
        page = server_error(request).content.decode()

    assert "<h1>Algo ha ido mal</h1>" in page
