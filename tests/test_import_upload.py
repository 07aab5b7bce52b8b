"""The admin CSV upload: a job imported by a worker through the one write path, with progress and a report."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from experiences.models import Experience
from integrations.models import ImportJob
from integrations.services import run_import_job
from integrations.tasks import resume_import_jobs

from .factories import UserFactory

UPLOAD = "/admin/experiences/experience/import/"
CSV = """customer,customer_name,touchpoint,valence,intensity,occurred_at,note
ACME-1,,on-time-delivery,negative,4,2026-01-10T09:00:00Z,late truck
NEW-5,Nova SL,on-time-delivery,positive,,2026-01-11T09:00:00Z,
ACME-1,,on-time-delivery,furious,3,2026-01-12T09:00:00Z,
"""


@pytest.fixture
def admin_client(client, touchpoint, customer):
    client.force_login(UserFactory(username="ada", role="admin", is_staff=True))
    return client


def upload(client, content: bytes, name: str = "experiences.csv"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


def test_upload_imports_the_file_and_the_job_page_reports_each_rejected_line(
    admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(admin_client, CSV.encode())
    job = ImportJob.objects.get()
    page = admin_client.get(response["Location"]).content.decode()

    assert response["Location"] == f"{UPLOAD}{job.pk}/"
    assert (job.status, job.accepted, job.duplicates, job.rejected) == ("done", 2, 0, 1)
    assert job.rejections == [{"line": 4, "reason": "valence: must be positive, neutral or negative, got 'furious'"}]
    assert "3 rows: 2 accepted, 0 duplicate, 1 rejected." in page
    assert "<td>4</td><td>valence: must be positive, neutral or negative, got &#x27;furious&#x27;</td>" in page
    assert Experience.objects.filter(source="import").count() == 2


def test_uploading_the_same_file_again_changes_nothing(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, CSV.encode())
    before = list(Experience.objects.order_by("pk").values_list("pk", "customer__external_id", "valence"))
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, CSV.encode())
    again = ImportJob.objects.order_by("pk").last()

    assert (again.accepted, again.duplicates, again.rejected) == (0, 2, 1)
    assert list(Experience.objects.order_by("pk").values_list("pk", "customer__external_id", "valence")) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xd8\xff\xe0 a photo, not text", "The file is not UTF-8 text (byte 0)"),
        (b"client,touchpoint,valence\nA,b,positive\n", "unknown columns client; missing columns customer."),
        (b"customer,touchpoint,valence\n", "the file has a header but no rows below it"),
        (b"customer,touchpoint,valence\nA,b,\x00positive\n", "the file contains NUL bytes"),
        (b"customer,touchpoint,valence\n" + b"x" * (20 * 1024 * 1024), "The file is larger than 20 MB"),
    ],
    ids=["not-utf8", "wrong-columns", "no-rows", "nul-bytes", "too-large"],
)
def test_a_file_that_cannot_be_imported_gets_a_message_on_the_form_and_no_job(
    admin_client, django_capture_on_commit_callbacks, content, message
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(admin_client, content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()
    assert not Experience.objects.exists()


def test_progress_fragment_reports_rows_processed_of_total_and_keeps_polling_while_running(admin_client):
    job = ImportJob.objects.create(file_name="big.csv", content=CSV, status="running", rows_total=2500)
    job.rows_processed = 1000
    job.save()

    fragment = admin_client.get(f"{UPLOAD}{job.pk}/progress/").content.decode()

    assert "1000 of 2500 rows processed (40 %)." in fragment
    assert '<progress value="1000" max="2500">' in fragment
    assert 'hx-trigger="every 1s"' in fragment


def test_progress_fragment_stops_polling_once_the_job_is_done(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, CSV.encode())

    fragment = admin_client.get(f"{UPLOAD}{ImportJob.objects.get().pk}/progress/").content.decode()

    assert "3 rows: 2 accepted, 0 duplicate, 1 rejected." in fragment
    assert "hx-trigger" not in fragment


def test_running_a_finished_job_again_changes_nothing(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, CSV.encode())
    job = ImportJob.objects.get()

    run_import_job(job_id=job.pk)

    assert (ImportJob.objects.values_list("status", "accepted", "duplicates").get()) == ("done", 2, 0)
    assert Experience.objects.count() == 2


def test_a_job_whose_message_was_lost_is_started_by_the_periodic_sweep(admin_client):
    upload(admin_client, CSV.encode())  # its on-commit message never leaves: the test's transaction never commits
    lost = ImportJob.objects.get()
    ImportJob.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(minutes=2))
    fresh = ImportJob.objects.create(file_name="just-queued.csv", content=CSV, rows_total=3)

    assert resume_import_jobs() == 1
    assert ImportJob.objects.get(pk=lost.pk).status == "done"
    assert ImportJob.objects.get(pk=fresh.pk).status == "queued"
    assert Experience.objects.count() == 2


def test_a_running_job_whose_worker_died_is_imported_again_without_duplicating_rows(
    admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, CSV.encode())
    stalled = ImportJob.objects.create(file_name="experiences.csv", content=CSV, status="running", rows_total=3)
    ImportJob.objects.filter(pk=stalled.pk).update(updated_at=timezone.now() - timedelta(minutes=10))

    assert resume_import_jobs() == 1
    assert ImportJob.objects.values_list("status", "duplicates").get(pk=stalled.pk) == ("done", 2)
    assert Experience.objects.count() == 2


@pytest.mark.parametrize("suffix", ["", "{pk}/", "{pk}/progress/"])
def test_staff_of_the_admin_who_are_not_cx_admins_are_refused(client, db, suffix):
    job = ImportJob.objects.create(file_name="experiences.csv", content=CSV, rows_total=3)
    client.force_login(UserFactory(username="mia", role="manager", is_staff=True))

    assert client.get(UPLOAD + suffix.format(pk=job.pk)).status_code == 403


@pytest.mark.parametrize("suffix", ["", "{pk}/", "{pk}/progress/"])
def test_anonymous_visitors_are_sent_to_the_admin_login(client, db, suffix):
    job = ImportJob.objects.create(file_name="experiences.csv", content=CSV, rows_total=3)

    response = client.get(UPLOAD + suffix.format(pk=job.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.browser
def test_job_page_follows_the_import_in_a_browser_until_the_report(page, log_in, transactional_db):
    UserFactory(username="ada", role="admin", is_staff=True)
    job = ImportJob.objects.create(file_name="big.csv", content=CSV, status="running", rows_total=2500)
    ImportJob.objects.filter(pk=job.pk).update(rows_processed=1000)
    blocked = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    log_in("ada", "correct-horse-battery")

    page.goto(f"{UPLOAD}{job.pk}/")
    page.get_by_text("1000 of 2500 rows processed").wait_for()
    ImportJob.objects.filter(pk=job.pk).update(rows_processed=2000)
    page.get_by_text("2000 of 2500 rows processed").wait_for()
    ImportJob.objects.filter(pk=job.pk).update(
        status="done", rows_processed=2500, accepted=2499, rejected=1, rejections=[{"line": 7, "reason": "valence: …"}]
    )

    page.get_by_text("2500 rows: 2499 accepted, 0 duplicate, 1 rejected.").wait_for()
    assert page.locator("#import-progress[hx-trigger]").count() == 0
    assert not blocked
