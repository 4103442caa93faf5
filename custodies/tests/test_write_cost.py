"""The custody writes through the API: what each costs in statements, fixed so it cannot grow unnoticed
(issue #14), and that each answers with what a GET reads back right after it (the API answers with the
row the service wrote instead of reloading it)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.choices import Role
from audit.context import acting_as
from conftest import ApiClient
from custodies import services
from custodies.models import Custody
from custodies.tests.conftest import attach, draft_data
from custodies.tests.test_api import create_body
from fleet.models import Vehicle

pytestmark = pytest.mark.django_db


def read_back(api, body: dict) -> dict:
    """GET the custody a write answered with; both without the clock-dependent seconds_left."""
    again = api.get(f"/api/v1/custodies/{body['id']}").json()
    for sla in (body["sla"], again["sla"]):
        for target in sla["targets"]:
            target.pop("seconds_left")
    return again


def assert_answers_what_a_get_reads(api, response, warnings=()):
    body = response.json()
    assert {w["code"] for w in body.pop("warnings")} == set(warnings)
    again = read_back(api, body)
    assert again.pop("warnings") == []
    assert body == again


@pytest.fixture
def operator_api(users):
    api = ApiClient(users[Role.OPERATOR])
    api.get("/api/v1/custodies?limit=1")  # the token's first use: its lookup and last-used stamp
    return api


@pytest.fixture
def supervisor_api(users):
    api = ApiClient(users[Role.SUPERVISOR])
    api.get("/api/v1/custodies?limit=1")
    return api


@pytest.fixture
def draft(users, agreement, spare_vehicle, tax_profile):
    operator = users[Role.OPERATOR]
    with acting_as(operator, "web"):
        custody = services.create_custody(operator, draft_data(agreement, spare_vehicle))
    attach(custody, "incident_report", "customer_acknowledgment")
    return custody


@pytest.fixture
def pending(users, draft):
    services.submit_custody(users[Role.OPERATOR], draft.pk)
    return draft


@pytest.fixture
def approved(users, pending):
    services.approve_custody(users[Role.SUPERVISOR], pending.pk)
    attach(pending, "handover_checklist")
    return pending


@pytest.fixture
def active(users, approved):
    services.hand_over_custody(users[Role.OPERATOR], approved.pk, {"odometer_km": 13000, "fuel_level": 8})
    attach(approved, "return_checklist")
    return approved


def close_body(**extra):
    return {"returned_at": timezone.now().isoformat(), "odometer_km": 13420, "fuel_level": 5, **extra}


# ---- statements per write ----------------------------------------------------------------------------
# Inside the test's transaction: the action's transaction is a savepoint and nothing runs after
# commit (the audit linking), so these are the request's own statements. The configuration a write
# reads (SLA policies, approval rules, the default tax rate) is kept per process (core.kept): the
# counts are those of a server process that has read it once (`kept_config`). No write queues a task
# (the worker's outbox poller finds its event); a create answers a zero balance without reading it.


@pytest.fixture
def kept_config(tax_profile):
    from approvals import services as approvals
    from billing import money
    from custodies import sla

    sla.policy_for("breakdown", None)
    approvals._rules()
    money.default_tax_rate()


def test_creating_a_draft_runs_a_fixed_number_of_statements(
    operator_api, agreement, spare_vehicle, tax_profile, kept_config, django_assert_num_queries
):
    # The custody number: PostgreSQL's sequence is one statement, SQLite's counter row seven.
    with django_assert_num_queries(10 if connection.vendor == "postgresql" else 17):
        response = operator_api.post("/api/v1/custodies", create_body(agreement, spare_vehicle))
    assert response.status_code == 201, response.json()


def test_submitting_runs_a_fixed_number_of_statements(
    operator_api, draft, kept_config, django_assert_num_queries
):
    with django_assert_num_queries(13):
        response = operator_api.post(f"/api/v1/custodies/{draft.pk}/submit", {})
    assert response.status_code == 200, response.json()


def test_approving_the_last_level_runs_a_fixed_number_of_statements(
    supervisor_api, pending, kept_config, django_assert_num_queries
):
    with django_assert_num_queries(13):
        response = supervisor_api.post(f"/api/v1/custodies/{pending.pk}/approve", {"notes": "fine"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"


def test_handing_over_runs_a_fixed_number_of_statements(
    operator_api, approved, kept_config, django_assert_num_queries
):
    with django_assert_num_queries(15):
        response = operator_api.post(
            f"/api/v1/custodies/{approved.pk}/handover", {"odometer_km": 13000, "fuel_level": 8}
        )
    assert response.status_code == 200, response.json()


def test_closing_runs_a_fixed_number_of_statements(
    operator_api, active, kept_config, django_assert_num_queries
):
    with django_assert_num_queries(18):
        response = operator_api.post(f"/api/v1/custodies/{active.pk}/close", close_body(original_ready=True))
    assert response.status_code == 200, response.json()


# ---- each write answers what a GET reads back ------------------------------------------------------------


def test_a_created_draft_answers_what_a_get_reads_even_for_offsets_and_short_amounts(
    operator_api, agreement, spare_vehicle, tax_profile
):
    dubai = timezone.get_fixed_timezone(240)
    now = timezone.now().astimezone(dubai)
    body = create_body(
        agreement,
        spare_vehicle,
        incident_at=(now - timedelta(hours=3)).isoformat(),
        effective_from=(now - timedelta(hours=1)).isoformat(),
        expected_return_at=(now + timedelta(days=2)).isoformat(),
        damage_hold_amount="150",
        deposit_carryover="20.5",
        authorized_daily_rate_cap="99.9",
        tags=["vip"],
        custodian_name="  Someone Else ",
    )
    response = operator_api.post("/api/v1/custodies", body)
    assert response.status_code == 201, response.json()
    assert response.json()["damage_hold_amount"] == "150.00"
    assert response.json()["incident_at"].endswith("Z")
    assert_answers_what_a_get_reads(operator_api, response)


def test_every_transition_answers_what_a_get_reads(operator_api, supervisor_api, draft):
    base = f"/api/v1/custodies/{draft.pk}"
    submitted = operator_api.post(f"{base}/submit", {})
    assert_answers_what_a_get_reads(operator_api, submitted)
    approved = supervisor_api.post(f"{base}/approve", {"notes": "fine"})
    assert approved.json()["replacement_vehicle"]["status"] == "reserved"
    assert_answers_what_a_get_reads(operator_api, approved)
    attach(draft, "handover_checklist")
    handed = operator_api.post(
        f"{base}/handover",
        {
            "odometer_km": 13000,
            "fuel_level": 8,
            "handed_over_at": timezone.now().astimezone(timezone.get_fixed_timezone(240)).isoformat(),
        },
    )
    assert handed.status_code == 200, handed.json()
    assert (handed.json()["replacement_vehicle"]["status"], handed.json()["original_vehicle"]["status"]) == (
        "rented",
        "in_custody",
    )
    assert_answers_what_a_get_reads(operator_api, handed)
    attach(draft, "return_checklist")
    closed = operator_api.post(
        f"{base}/close",
        {
            "returned_at": timezone.now().astimezone(timezone.get_fixed_timezone(-300)).isoformat(),
            "odometer_km": 13420,
            "fuel_level": 5,
            "original_ready": True,
        },
    )
    assert closed.status_code == 200, closed.json()
    assert closed.json()["balance"]["charged"] != "0.00"  # the rental, posted at close
    assert_answers_what_a_get_reads(operator_api, closed)


def test_a_handover_with_another_car_answers_with_that_car(operator_api, approved, branch, vehicle_class):
    other = Vehicle.objects.create(
        plate="DXB-X-99999", vin="VIN99999", make="Kia", model="Rio", year=2024,
        vehicle_class=vehicle_class, branch=branch, odometer_km=1000,
    )  # fmt: skip
    handed = operator_api.post(
        f"/api/v1/custodies/{approved.pk}/handover",
        {"replacement_vehicle_id": str(other.pk), "odometer_km": 1010, "fuel_level": 8},
    )
    assert handed.status_code == 200, handed.json()
    assert handed.json()["replacement_vehicle"]["plate"] == "DXB-X-99999"
    assert_answers_what_a_get_reads(operator_api, handed)
    assert Vehicle.objects.get(pk=approved.replacement_vehicle_id).status == "available"


def test_an_approval_with_a_level_left_answers_what_a_get_reads(
    users, operator_api, supervisor_api, agreement, spare_vehicle, tax_profile
):
    operator = users[Role.OPERATOR]
    with acting_as(operator, "web"):
        custody = services.create_custody(
            operator, draft_data(agreement, spare_vehicle, reason_code="accident", reason_subcode="")
        )
    attach(custody, "incident_report", "customer_acknowledgment", "police_report", "photos")
    services.submit_custody(operator, custody.pk)
    response = supervisor_api.post(f"/api/v1/custodies/{custody.pk}/approve", {"notes": "first"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "pending_approval"
    assert_answers_what_a_get_reads(operator_api, response)


def test_a_write_outside_the_users_branches_is_not_found(users, draft, other_branch):
    from conftest import make_user

    outsider = ApiClient(make_user(Role.MANAGER, other_branch, email="auh@example.com"))
    for path, body in [
        ("submit", {}),
        ("approve", {}),
        ("handover", {"odometer_km": 1, "fuel_level": 1}),
        ("close", close_body()),
        ("charges", {"charge_type": "damage", "description": "x", "unit_price": "1", "responsibility": "customer"}),
        ("payments", {"amount": "1.00", "method": "cash", "payer": "customer"}),
    ]:  # fmt: skip
        response = outsider.post(f"/api/v1/custodies/{draft.pk}/{path}", body)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "NOT_FOUND"), path
    assert Custody.objects.get(pk=draft.pk).version == 1
    assert Decimal(0) == sum(c.total for c in draft.charges.exclude(system_key__gt=""))


def test_an_actions_audit_entries_keep_their_order(users, operator_api, supervisor_api, draft):
    """The entries of one action go in one INSERT, in the order they were made."""
    from audit import services as audit
    from audit.models import AuditEntry

    base = f"/api/v1/custodies/{draft.pk}"
    operator_api.post(f"{base}/submit", {})
    supervisor_api.post(f"{base}/approve", {"notes": "fine"})
    attach(draft, "handover_checklist")
    operator_api.post(f"{base}/handover", {"odometer_km": 13000, "fuel_level": 8})
    attach(draft, "return_checklist")
    operator_api.post(f"{base}/close", close_body(original_ready=True))
    trail = list(
        AuditEntry.objects.filter(custody_id=draft.pk).order_by("id").values_list("action", "object_type")
    )
    assert trail[trail.index(("custody.submitted", "custody")) :] == [
        ("custody.submitted", "custody"),
        ("approval.decided", "approval"),
        ("vehicle.updated", "vehicle"),  # the replacement reserved
        ("custody.approved", "custody"),
        ("vehicle.updated", "vehicle"),  # the replacement rented
        ("vehicle.updated", "vehicle"),  # the original in custody
        ("custody.handed_over", "custody"),
        ("charge.computed", "charge"),
        ("vehicle.updated", "vehicle"),  # the replacement back
        ("vehicle.updated", "vehicle"),  # the original released
        ("custody.closed", "custody"),
        ("charge.computed", "charge"),
        ("charge.posted", "charge"),
    ]
    assert audit.verify_chain() == []


@pytest.mark.parametrize(
    ("decision", "last"), [("approve", "custody.approved"), ("reject", "custody.rejected")]
)
def test_a_decisions_events_are_written_together_in_order(users, pending, decision, last):
    from integrations.models import OutboxEvent

    supervisor = users[Role.SUPERVISOR]
    since = timezone.now()
    with acting_as(supervisor, "api"):
        if decision == "approve":
            services.approve_custody(supervisor, pending.pk, "fine")
        else:
            services.reject_custody(supervisor, pending.pk, "Photos missing")
    events = list(OutboxEvent.objects.filter(created_at__gte=since).order_by("created_at"))
    assert [e.type for e in events] == ["custody.approval_decided", last]
    assert events[0].created_at < events[1].created_at
    decided = events[0].data
    assert (decided["level"], decided["decision"], decided["custody"]["status"]) == (
        1,
        "approved" if decision == "approve" else "rejected",
        "pending_approval",  # as it was when the level was decided
    )
    assert decided["custody"]["version"] == events[1].data["custody"]["version"] - 1
    assert decided["actor_id"] == str(supervisor.pk)
