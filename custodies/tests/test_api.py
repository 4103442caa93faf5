from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from conftest import ApiClient, make_user
from custodies.models import Custody
from custodies.tests.conftest import attach

pytestmark = pytest.mark.django_db


def create_body(agreement, spare_vehicle, **overrides):
    now = timezone.now()
    body = {
        "agreement_id": str(agreement.id),
        "replacement_vehicle_id": str(spare_vehicle.id),
        "custodian_type": "customer",
        "reason_code": "breakdown",
        "reason_subcode": "battery_dead",
        "incident_at": (now - timedelta(hours=3)).isoformat(),
        "effective_from": (now - timedelta(hours=1)).isoformat(),
        "expected_return_at": (now + timedelta(days=2)).isoformat(),
    }
    body.update(overrides)
    return body


def test_the_api_runs_a_custody_from_draft_to_closed(users, agreement, spare_vehicle, vehicle):
    operator = ApiClient(users[Role.OPERATOR])
    supervisor = ApiClient(users[Role.SUPERVISOR])

    created = operator.post("/api/v1/custodies", create_body(agreement, spare_vehicle))
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft"
    assert body["custody_no"].startswith("CST-")
    assert body["customer_id"] == str(agreement.customer_id)
    assert body["original_vehicle_id"] == str(vehicle.id)
    assert body["branch"]["code"] == "DXB"
    assert body["version"] == 1
    assert "submit" in body["allowed_actions"]
    custody_id = body["id"]
    attach(Custody.objects.get(pk=custody_id), "incident_report", "customer_acknowledgment")

    submitted = operator.post(f"/api/v1/custodies/{custody_id}/submit", {})
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "pending_approval"
    assert submitted.json()["sla"]["current_target"] == "approve"
    assert {w["code"] for w in submitted.json()["warnings"]} == set()

    approved = supervisor.post(f"/api/v1/custodies/{custody_id}/approve", {"notes": "fine"})
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"

    attach(Custody.objects.get(pk=custody_id), "handover_checklist")
    handed = operator.post(
        f"/api/v1/custodies/{custody_id}/handover", {"odometer_km": 13000, "fuel_level": 7}
    )
    assert handed.status_code == 200, handed.json()
    assert handed.json()["status"] == "active"

    attach(Custody.objects.get(pk=custody_id), "return_checklist")
    closed = operator.post(
        f"/api/v1/custodies/{custody_id}/close",
        {
            "returned_at": timezone.now().isoformat(),
            "odometer_km": 13420,
            "fuel_level": 5,
            "original_ready": True,
        },
    )
    assert closed.status_code == 200, closed.json()
    assert closed.json()["status"] == "closed"
    assert closed.json()["allowed_actions"] == []

    approvals = operator.get(f"/api/v1/custodies/{custody_id}/approvals").json()
    assert [(a["level"], a["role"], a["status"]) for a in approvals] == [(1, "supervisor", "approved")]
    audit = operator.get(f"/api/v1/custodies/{custody_id}/audit").json()
    actions = [e["action"] for e in audit["items"] if e["action"].startswith("custody.")]
    assert actions == [
        "custody.created",
        "custody.submitted",
        "custody.approved",
        "custody.handed_over",
        "custody.closed",
    ]
    assert audit["items"][0]["source"] == "api"


def test_an_action_in_the_wrong_state_is_409_with_allowed_actions(users, agreement, spare_vehicle):
    operator = ApiClient(users[Role.OPERATOR])
    custody_id = operator.post("/api/v1/custodies", create_body(agreement, spare_vehicle)).json()["id"]
    response = operator.post(
        f"/api/v1/custodies/{custody_id}/close",
        {"returned_at": timezone.now().isoformat(), "odometer_km": 1, "fuel_level": 1},
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "INVALID_TRANSITION"
    assert error["details"]["allowed_actions"] == ["edit", "submit", "void"]


def test_a_viewer_may_not_create_or_act(users, agreement, spare_vehicle):
    viewer = ApiClient(users[Role.VIEWER])
    response = viewer.post("/api/v1/custodies", create_body(agreement, spare_vehicle))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert Custody.objects.count() == 0


def test_submission_errors_are_validation_errors_with_details(users, agreement, spare_vehicle):
    operator = ApiClient(users[Role.OPERATOR])
    custody_id = operator.post("/api/v1/custodies", create_body(agreement, spare_vehicle)).json()["id"]
    response = operator.post(f"/api/v1/custodies/{custody_id}/submit", {})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "documents" in error["details"]
    assert Custody.objects.get(pk=custody_id).status == "draft"


def test_a_stale_version_is_a_conflict_and_changes_nothing(users, agreement, spare_vehicle):
    operator = ApiClient(users[Role.OPERATOR])
    custody_id = operator.post("/api/v1/custodies", create_body(agreement, spare_vehicle)).json()["id"]
    first = operator.patch(f"/api/v1/custodies/{custody_id}", {"notes": "first"}, HTTP_IF_MATCH="1")
    assert first.status_code == 200
    assert first.json()["version"] == 2
    stale = operator.patch(f"/api/v1/custodies/{custody_id}", {"notes": "second"}, HTTP_IF_MATCH="1")
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "CONFLICT"
    assert Custody.objects.get(pk=custody_id).notes == "first"


def test_a_custody_of_another_branch_is_not_found(users, agreement, spare_vehicle, other_branch):
    operator = ApiClient(users[Role.OPERATOR])
    custody_id = operator.post("/api/v1/custodies", create_body(agreement, spare_vehicle)).json()["id"]
    outsider = ApiClient(make_user(Role.MANAGER, other_branch, email="auh@example.com"))
    assert outsider.get(f"/api/v1/custodies/{custody_id}").status_code == 404
    response = outsider.post(f"/api/v1/custodies/{custody_id}/void", {"reason": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert outsider.get("/api/v1/custodies").json()["count"] == 0


def test_a_retried_create_with_the_same_idempotency_key_returns_the_first_result(
    users, agreement, spare_vehicle
):
    operator = ApiClient(users[Role.OPERATOR])
    body = create_body(agreement, spare_vehicle)
    first = operator.post("/api/v1/custodies", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    retry = operator.post("/api/v1/custodies", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert Custody.objects.count() == 1
    other_body = operator.post("/api/v1/custodies", {**body, "notes": "x"}, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert other_body.status_code == 409
    assert Custody.objects.count() == 1


def test_bad_input_never_gives_a_500(users, agreement, spare_vehicle):
    operator = ApiClient(users[Role.OPERATOR])
    cases = [
        create_body(agreement, spare_vehicle, reason_code="flood"),
        create_body(agreement, spare_vehicle, incident_at="yesterday"),
        create_body(agreement, spare_vehicle, incident_at=(timezone.now() + timedelta(days=1)).isoformat()),
        create_body(agreement, spare_vehicle, customer_id="00000000-0000-0000-0000-000000000000"),
        create_body(agreement, spare_vehicle, reason_subcode="fire"),
        create_body(
            agreement, spare_vehicle, expected_return_at=(timezone.now() - timedelta(days=2)).isoformat()
        ),
        create_body(agreement, spare_vehicle, rate_policy="special_code", special_rate_code="NOPE"),
        create_body(agreement, spare_vehicle, damage_hold_amount="-5"),
    ]
    for body in cases:
        response = operator.post("/api/v1/custodies", body)
        assert response.status_code == 422, (body, response.content)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert Custody.objects.count() == 0
    assert operator.get("/api/v1/custodies/not-a-uuid").status_code in (404, 422)


def test_the_list_filters_by_status_and_searches_by_number(users, agreement, spare_vehicle):
    operator = ApiClient(users[Role.OPERATOR])
    first = operator.post("/api/v1/custodies", create_body(agreement, spare_vehicle)).json()
    second = operator.post("/api/v1/custodies", create_body(agreement, spare_vehicle)).json()
    operator.post(f"/api/v1/custodies/{second['id']}/void", {"reason": "duplicate"})
    drafts = operator.get("/api/v1/custodies?status=draft").json()
    assert [c["id"] for c in drafts["items"]] == [first["id"]]
    both = operator.get("/api/v1/custodies?status=draft&status=voided").json()
    assert both["count"] == 2
    found = operator.get(f"/api/v1/custodies?q={second['custody_no']}").json()
    assert [c["id"] for c in found["items"]] == [second["id"]]
    assert operator.get("/api/v1/custodies?status=nope").status_code == 422


def test_available_vehicles_exclude_those_held_by_an_overlapping_custody(
    users, make_draft, spare_vehicle, branch
):
    from custodies import services

    custody = make_draft()
    services.submit_custody(users[Role.OPERATOR], custody.id)
    services.approve_custody(users[Role.SUPERVISOR], custody.id)
    client = ApiClient(users[Role.OPERATOR])
    start = timezone.now().isoformat()
    end = (timezone.now() + timedelta(days=1)).isoformat()
    response = client.get(
        "/api/v1/vehicles/available", {"from": start, "to": end, "branch_id": str(branch.id)}
    )
    assert response.status_code == 200
    assert str(spare_vehicle.id) not in [v["id"] for v in response.json()["items"]]


def test_times_without_an_offset_are_validation_errors(users, agreement, spare_vehicle):
    operator = ApiClient(users[Role.OPERATOR])
    response = operator.post(
        "/api/v1/custodies", create_body(agreement, spare_vehicle, incident_at="2026-11-20T10:00:00")
    )
    assert response.status_code == 422
    assert "incident_at" in response.json()["error"]["details"]


def test_a_custody_without_the_optional_reason_detail_is_created(users, agreement, spare_vehicle):
    operator = ApiClient(users[Role.OPERATOR])
    body = create_body(agreement, spare_vehicle)
    del body["reason_subcode"]
    omitted = operator.post("/api/v1/custodies", body)
    assert omitted.status_code == 201, omitted.content
    assert omitted.json()["reason_subcode"] == ""
    explicit_null = operator.post("/api/v1/custodies", {**body, "reason_subcode": None})
    assert explicit_null.status_code == 201, explicit_null.content


def test_an_integrity_error_is_a_duplicate_only_when_it_is_one():
    from django.db import IntegrityError, connection

    from accounts.models import User
    from config.api import is_duplicate
    from fleet.models import Branch

    Branch.objects.create(code="ZZZ", name="One")
    try:
        with transaction.atomic():
            Branch.objects.create(code="ZZZ", name="Two")
    except IntegrityError as exc:
        assert is_duplicate(exc)
    else:
        pytest.fail("the second branch code should be refused")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {User._meta.db_table} (email) VALUES ('x@example.com')")
    except IntegrityError as exc:
        assert not is_duplicate(exc)
    else:
        pytest.fail("a row with NOT NULL columns missing should be refused")


@pytest.mark.parametrize("action", ["submit", "approve", "reject", "void"])
def test_a_viewer_is_refused_by_role_before_the_state_is_revealed(users, make_draft, action):
    custody = make_draft()
    Custody.objects.filter(pk=custody.pk).update(status="voided", voided_at=timezone.now())
    viewer = ApiClient(users[Role.VIEWER])
    response = viewer.post(f"/api/v1/custodies/{custody.id}/{action}", {"reason": "x"})
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert "voided" not in response.content.decode()
    edit = viewer.patch(f"/api/v1/custodies/{custody.id}", {"notes": "x"})
    assert edit.status_code == 403
