"""Pages of long, newest-first lists without a total: a page's rows and one more, never a COUNT.

Django's Paginator counts the whole list for its "page N of M"; over a million survey answers
that count took 2.1 s of a 3 s page (docs/performance.md). A reader of such a list goes newer
and older, so the page number and whether an older page exists are all the pager needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

# A page number beyond this is refused: its OFFSET would read millions of rows to show none.
LAST_PAGE = 10_000


@dataclass(frozen=True)
class Page:
    object_list: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def page_of(rows: QuerySet, number: str | None, *, per_page: int = 50) -> Page:
    """Page `number` of `rows` (the first when it is missing or not a number); one query.

    A page past the end is the project's "page not found"; a page "number" that is not a whole number
    shows the first page, as Django's `Paginator.get_page` does.
    """
    try:
        wanted = int(number or 1)
    except ValueError:
        wanted = 1
    wanted = max(wanted, 1)
    if wanted > LAST_PAGE:
        raise Http404(f"There is no page {wanted}: the pages stop at {LAST_PAGE}.")
    start = (wanted - 1) * per_page
    found = list(rows[start : start + per_page + 1])
    if not found and wanted > 1:
        raise Http404(f"There is no page {wanted}: the list is shorter.")
    return Page(object_list=found[:per_page], number=wanted, has_next=len(found) > per_page)
