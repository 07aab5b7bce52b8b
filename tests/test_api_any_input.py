"""Property: no JSON value, in any field and at any level, makes a write fail with an exception or a 5xx.

Each example starts from a valid experience, replaces one field (or one customer field, or adds
one unknown field) with an arbitrary JSON value, and sends it beside a valid neighbour: the
neighbour is always stored, and the mutated item is either stored or rejected naming exactly
the field that was changed.
"""

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxm.text import printable
from experiences.models import Experience, Source
from experiences.services import ITEM_FIELDS, record_experiences
from integrations.models import Scope

from .api import key_client
from .test_case_pages import case  # noqa: F401 - the fixture

# Any text (NUL and lone surrogates included), numbers of any size (1e400 arrives as inf), nesting.
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec=None))
    | st.sampled_from(["", " ", "\x00", "\ud800", "a\u200bb", "3", "negative", "2026-01-01T00:00:00Z"])
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
)
CUSTOMER_FIELDS = ["external_id", "name", "email", "segment", "extra"]
mutations = st.one_of(
    st.tuples(st.just("item"), st.sampled_from(sorted(ITEM_FIELDS)), json_values),
    st.tuples(st.just("customer"), st.sampled_from(CUSTOMER_FIELDS), json_values),
    st.tuples(
        st.just("unknown"),
        # not "Infinity": the HTTP test writes inf as 1e400 by replacing that word in the body, names included
        st.text(min_size=1, max_size=8).filter(lambda k: k not in ITEM_FIELDS and "Infinity" not in k),
        json_values,
    ),
)
serial = itertools.count()
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def valid_item(key: str) -> dict:
    return {
        "id": key,
        "customer": {"external_id": "ACME-1", "name": "Acme Ltd"},
        "touchpoint": "on-time-delivery",
        "valence": "negative",
        "intensity": 4,
        "note": "late again",
    }


def mutated(mutation) -> tuple[dict, str]:
    """The item with one value replaced, and the error key that a rejection must name."""
    where, name, value = mutation
    item = valid_item(f"m-{next(serial)}")
    if where == "item":
        item[name] = value
        return item, name
    if where == "customer":
        item["customer"] = {**item["customer"], name: value}
        return item, "customer"
    item[name] = value
    return item, name


def check(results: list[dict], field: str, neighbour_key: str) -> None:
    mutant, neighbour = results
    assert neighbour["status"] == "accepted", neighbour
    assert Experience.objects.filter(external_id=neighbour_key).exists()
    assert mutant["status"] in ("accepted", "rejected")
    if mutant["status"] == "rejected":
        assert len(mutant["errors"]) == 1, mutant["errors"]
        (named,) = mutant["errors"]
        assert named == printable(field)
        assert all(isinstance(message, str) and message for message in mutant["errors"][named])


@pytest.mark.django_db
@PROPERTY
@given(mutation=mutations)
def test_record_experiences_never_raises_and_names_the_bad_field(touchpoint, customer, mutation):
    item, field = mutated(mutation)
    neighbour_key = f"n-{next(serial)}"
    batch = record_experiences(items=[item, valid_item(neighbour_key)], source=Source.API)
    results = [{"status": r.status, "errors": r.errors} for r in batch.results]
    check(results, field, neighbour_key)


@pytest.mark.django_db
@PROPERTY
@given(mutation=mutations)
def test_ingest_endpoint_never_answers_5xx_and_names_the_bad_field(touchpoint, customer, mutation):
    client = key_client(Scope.EXPERIENCES_WRITE, Scope.CUSTOMERS_WRITE)
    item, field = mutated(mutation)
    neighbour_key = f"n-{next(serial)}"
    body = json.dumps({"experiences": [item, valid_item(neighbour_key)]}, allow_nan=True)
    body = body.replace("Infinity", "1e400").replace("-1e400", "-1e400")
    response = client.post(
        "/api/v1/experiences/", body.encode("utf-8", "surrogatepass"), content_type="application/json"
    )
    assert response.status_code in (200, 201), response.content
    check(response.json()["results"], field, neighbour_key)


@pytest.mark.django_db
@PROPERTY
@given(body=json_values)
def test_ingest_endpoint_answers_any_json_document_without_a_5xx(touchpoint, customer, body):
    raw = json.dumps(body).replace("Infinity", "1e400").encode("utf-8", "surrogatepass")
    response = key_client(Scope.EXPERIENCES_WRITE).post("/api/v1/experiences/", raw, content_type="application/json")
    assert response.status_code < 500
    assert "detail" in response.json() or "results" in response.json()


WRITE_ENDPOINTS = [
    ("put", "/api/v1/customers/C-7/", ["name", "email", "segment", "relationship_level", "category_spend"]),
    ("patch", "/api/v1/customers/ACME-1/", ["name", "email", "segment", "relationship_level", "our_revenue"]),
    ("post", "/api/v1/webhooks/", ["url", "events", "secret", "description", "active"]),
    ("post", "/api/v1/surveys/nps/invitations/", ["customers", "segment"]),
    ("post", "/api/v1/cases/{case}/assign/", ["assignee"]),
    ("post", "/api/v1/cases/{case}/comments/", ["text"]),
    ("post", "/api/v1/cases/{case}/resolve/", ["resolution"]),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "fields"), WRITE_ENDPOINTS)
@PROPERTY
@given(data=st.data())
def test_other_write_endpoints_never_answer_5xx(
    touchpoint,
    customer,
    case,  # noqa: F811 - the fixture: the case endpoints work on it (resolved by the first valid resolve)
    staff_user,
    dns_of_this_machine_only,
    method,
    url,
    fields,
    data,
):
    url = url.format(case=case.pk)
    body = data.draw(st.dictionaries(st.sampled_from([*fields, "other"]), json_values, max_size=4))
    raw = json.dumps(body).replace("Infinity", "1e400").encode("utf-8", "surrogatepass")
    response = getattr(key_client(*Scope.values), method)(url, raw, content_type="application/json")
    assert response.status_code < 500, response.content
    answer = response.json()
    if response.status_code >= 400:
        assert isinstance(answer["detail"], str)
        named = {path.split(".")[0] for path in answer.get("errors", {})}
        assert named <= {*body, *fields, "non_field_errors", "survey"}, answer
