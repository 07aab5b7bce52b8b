"""Help for every figure is text on the page: touch screens never show a `title`.

Every page of the demo company, in English and Spanish, as an admin and a manager: whatever a
table (header or cell) or an abbreviation explains in a `title` attribute must also be written
on the page, where a phone user can read it (the tables' "What the columns mean" disclosures).
"""

import io
import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from customers.models import Customer
from feedback.models import Case, Theme
from journeys.models import Journey


class Help(HTMLParser):
    """The body's text, and the `title`s given inside tables and on abbreviations."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.titles: list[tuple[str, str]] = []
        self.explained = 0
        self._in_body = self._tables = self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        if tag == "body":
            self._in_body = 1
        elif tag == "table":
            self._tables += 1
        elif tag in ("script", "style", "template"):
            self._hidden += 1
        elif tag == "details" and "explain" in (given.get("class") or "").split():
            self.explained += 1
        title = given.get("title")
        if title and self._in_body and (self._tables or tag == "abbr"):
            self.titles.append((tag, title))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._tables -= 1
        elif tag in ("script", "style", "template"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if self._in_body and not self._hidden:
            self.text.append(data)


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def title_only_help(html: str) -> tuple[list[str], int, int]:
    """The `title`s whose text the page does not show, how many titles were checked, and disclosures."""
    page = Help()
    page.feed(html)
    shown = words(" ".join(page.text))
    missing = [f"<{tag} title={title!r}>" for tag, title in page.titles if words(title) not in shown]
    return missing, len(page.titles), page.explained


@pytest.fixture
def demo(db, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", customers=30, experiences=800, stdout=io.StringIO())
    case = Case.objects.order_by("pk").first()
    theme = Theme.objects.order_by("pk").first()
    return {
        "customer": Customer.objects.filter(experiences__isnull=False).first().external_id,
        "journey": Journey.objects.first().slug,
        "case": case.pk,
        "theme": theme.pk if theme else None,
    }


def pages(demo: dict) -> list[str]:
    found = [
        reverse("dashboards:company"),
        reverse("dashboards:department", args=["logistics"]),
        reverse("customers:timeline", args=[demo["customer"]]),
        reverse("journeys:map", args=[demo["journey"]]),
        reverse("case-list"),
        reverse("case-detail", args=[demo["case"]]),
        reverse("responses"),
        reverse("ladder"),
        reverse("share-of-wallet"),
        reverse("inbox"),
    ]
    if demo["theme"]:
        found.append(reverse("theme-detail", args=[demo["theme"]]))
    return found


def test_no_page_explains_a_figure_only_in_a_title(demo, client):
    checked = explained = 0
    problems = []
    for username in ("demo-admin", "demo-manager"):
        for language in ("en", "es"):
            User.objects.filter(username=username).update(language=language)
            client.force_login(User.objects.get(username=username))
            for path in pages(demo):
                response = client.get(path)
                if response.status_code in (403, 404):  # a page this person may not see
                    continue
                assert response.status_code == 200, path
                missing, titles, disclosures = title_only_help(response.content.decode())
                problems += [f"{username} ({language}) {path}: {m}" for m in missing]
                checked += titles
                explained += disclosures
    assert not problems, "explained only in a title:\n" + "\n".join(problems)
    assert checked >= 12, "the demo pages should carry abbreviations with their title (NPS, CSAT, CES)"
    assert explained >= 30, "every page with figure tables should say what the columns mean"


def test_a_header_explained_only_in_its_title_is_caught():
    html = (
        "<body><p>Index out of 100</p><table><tr>"
        '<th><abbr title="Index out of 100">Index</abbr></th><th><abbr title="Points against before">Trend</abbr></th>'
        "</tr></table></body>"
    )
    missing, checked, _ = title_only_help(html)
    assert (missing, checked) == (["<abbr title='Points against before'>"], 2)
