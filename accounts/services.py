"""Writes about people: one service places a user in a role and departments, whoever asks.

The admin's user form, its CSV import and the company sign-in all go through `save_user`, so a
person added by hand, imported from a spreadsheet or arriving from the company's directory is
checked by the same rules and ends up the same way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from touchpoints.models import Department

from .models import Role, User

CSV_COLUMNS = ("username", "email", "first_name", "last_name", "role", "departments", "language")


@dataclass
class UserRow:
    """One person as an import or a directory describes them; `None` leaves a field as it is."""

    username: str
    email: str = ""
    first_name: str | None = None
    last_name: str | None = None
    role: str | None = None
    department_codes: list[str] | None = None
    language: str | None = None


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: dict[int, list[str]] = field(default_factory=dict)


def email_owners(emails: Iterable[str]) -> dict[str, tuple[int, str]]:
    """Lower-cased e-mail → (id, username) of the user who has it, for the given e-mails (one query)."""
    wanted = {email.lower() for email in emails if email}
    if not wanted:
        return {}
    found = User.objects.annotate(lower_email=Lower("email")).filter(lower_email__in=wanted)
    return {email: (pk, username) for email, pk, username in found.values_list("lower_email", "pk", "username")}


def check_user_row(
    row: UserRow,
    departments: dict[str, Department],
    owners: Mapping[str, tuple[int, str]] | None = None,
    user_id: int | None = None,
) -> list[str]:
    """What is wrong with one row, in words an admin can act on (empty when it can be saved).

    `owners` (from `email_owners`) says who already has the row's e-mail: the company sign-in
    matches people by e-mail, so two people must never share one. The row's person is the user
    `user_id` when given (an admin may rename them), else the user named `row.username`.
    """
    problems = []
    if not row.username:
        problems.append(_("username is empty"))
    if row.email:
        try:
            validate_email(row.email)
        except ValidationError:
            problems.append(_("e-mail “%(email)s” is not an e-mail address") % {"email": row.email})
        owner = (owners or {}).get(row.email.lower())
        if owner is not None and (owner[0] != user_id if user_id is not None else owner[1] != row.username):
            problems.append(
                _("e-mail “%(email)s” is already %(username)s's; the company sign-in finds people by e-mail")
                % {"email": row.email, "username": owner[1]}
            )
    if row.role is not None and row.role not in Role.values:
        problems.append(
            _("role “%(role)s” is not one of %(roles)s") % {"role": row.role, "roles": ", ".join(Role.values)}
        )
    if row.language and row.language not in dict(settings.LANGUAGES):
        problems.append(
            _("language “%(language)s” is not one of %(languages)s")
            % {"language": row.language, "languages": ", ".join(dict(settings.LANGUAGES))}
        )
    unknown = sorted(set(row.department_codes or []) - set(departments))
    if unknown:
        problems.append(_("no department with code %(codes)s") % {"codes": ", ".join(unknown)})
    return problems


def save_user(
    *, row: UserRow, departments: dict[str, Department] | None = None, user: User | None = None
) -> tuple[User, bool]:
    """Create or update the user named `row.username`; raise ValidationError if the row is wrong.

    Returns the user and whether it was created. A new user has no usable password: they sign
    in through the company's provider, or an admin sets one. The admin's form passes the `user`
    it built (new or changed, with its password and staff flags) instead of a name to look up.
    """
    if departments is None:
        departments = {d.code: d for d in Department.objects.filter(code__in=row.department_codes or [])}
    user_id = user.pk if user is not None else None
    problems = check_user_row(row, departments, email_owners([row.email]), user_id)
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        if user is None:
            user = User.objects.filter(username=row.username).first() or User(username=row.username)
            if user._state.adding:
                user.set_unusable_password()
        created = user._state.adding
        user.username = row.username
        if row.email:
            user.email = row.email
        for name in ("first_name", "last_name", "role", "language"):
            if getattr(row, name) is not None:
                setattr(user, name, getattr(row, name))
        user.save()
        if row.department_codes is not None:
            user.departments.set([departments[code] for code in row.department_codes])
    return user, created


def parse_users_csv(text: str) -> list[UserRow]:
    """Rows of a CSV with the header CSV_COLUMNS (departments separated by spaces or semicolons).

    An empty role or departments cell leaves that field as it is for an existing user.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in ("username",) if name not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(
            _("the first line must name the columns %(columns)s") % {"columns": ", ".join(CSV_COLUMNS)}
        )
    rows = []
    for record in reader:
        cell = {key: (value or "").strip() for key, value in record.items() if key}
        codes = cell.get("departments", "").replace(";", " ").split()
        rows.append(
            UserRow(
                username=cell.get("username", ""),
                email=cell.get("email", ""),
                first_name=cell.get("first_name") or None,
                last_name=cell.get("last_name") or None,
                role=cell.get("role") or None,
                department_codes=codes or None,
                language=cell.get("language") or None,
            )
        )
    return rows


def import_users(*, rows: Iterable[UserRow]) -> ImportReport:
    """Save every row or none: a file with any wrong line changes nothing and says which lines."""
    rows = list(rows)
    codes = {code for row in rows for code in row.department_codes or []}
    departments = {d.code: d for d in Department.objects.filter(code__in=codes)}
    owners = email_owners(row.email for row in rows)
    first_line_of: dict[str, tuple[int, str]] = {}
    report = ImportReport()
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        problems = check_user_row(row, departments, owners)
        if row.email:
            first = first_line_of.setdefault(row.email.lower(), (line, row.username))
            if first[1] != row.username:
                problems.append(
                    _("e-mail “%(email)s” is also on line %(line)d, for %(username)s")
                    % {"email": row.email, "line": first[0], "username": first[1]}
                )
        if problems:
            report.errors[line] = problems
    if report.errors:
        return report
    with transaction.atomic():
        for row in rows:
            _user, created = save_user(row=row, departments=departments)
            if created:
                report.created += 1
            else:
                report.updated += 1
    return report


def set_language(*, user: User, language: str) -> None:
    """The language of the person's pages and e-mails; "" falls back to the browser's."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(_("“%(language)s” is not a language CXM speaks.") % {"language": language})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
