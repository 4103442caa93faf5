"""Reference-data changes are audited (actor, source, before → after) on a tamper-evident chain."""

import pytest

from audit import services as audit
from audit.models import AuditEntry
from audit.tests.helpers import tamper
from conftest import ApiClient, login_client
from fleet.forms import VehicleForm
from fleet.tests.helpers import page_form

pytestmark = pytest.mark.django_db


def entries_for(obj):
    return list(AuditEntry.objects.filter(object_id=str(obj.pk)).order_by("id"))


def test_creating_a_vehicle_class_through_the_api_is_audited_with_its_values(admin_user):
    response = ApiClient(admin_user).post(
        "/api/v1/vehicle-classes",
        {"code": "LUX", "name": "Luxury", "daily_rate": "400.00", "monthly_rate": "9000.00"},
    )
    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="vehicleclass.created")
    assert entry.object_id == response.json()["id"]
    assert entry.object_type == "vehicleclass"
    assert entry.object_repr == "LUX · Luxury"
    assert entry.actor == admin_user
    assert entry.actor_email == "admin@example.com"
    assert entry.source == "api"
    assert entry.ip == "127.0.0.1"
    assert {k: entry.changes[k] for k in ("code", "name", "daily_rate", "monthly_rate")} == {
        "code": [None, "LUX"],
        "name": [None, "Luxury"],
        "daily_rate": [None, "400.00"],
        "monthly_rate": [None, "9000.00"],
    }
    assert "updated_at" not in entry.changes


def test_updating_a_vehicle_through_the_api_records_only_what_changed(admin_user, vehicle):
    response = ApiClient(admin_user).patch(
        f"/api/v1/vehicles/{vehicle.id}", {"odometer_km": 12500, "status": "maintenance"}
    )
    assert response.status_code == 200
    [entry] = entries_for(vehicle)
    assert entry.action == "vehicle.updated"
    assert entry.changes == {"odometer_km": [12000, 12500], "status": ["rented", "maintenance"]}


def test_changing_a_reference_on_a_page_records_the_ids_before_and_after(
    admin_user, vehicle, other_branch, branch
):
    response = login_client(admin_user).post(
        f"/vehicles/{vehicle.id}/edit/", page_form(VehicleForm, vehicle, branch=other_branch.id)
    )
    assert response.status_code == 302
    [entry] = entries_for(vehicle)
    assert entry.source == "web"
    assert entry.changes == {"branch_id": [str(branch.id), str(other_branch.id)]}


def test_a_page_edit_of_a_rate_is_audited_with_money_before_and_after(admin_user, special_rate):
    response = login_client(admin_user).post(
        f"/manage/special-rate-codes/{special_rate.id}/edit/",
        {"code": "INS-STD", "description": "Insurance standard", "daily_rate": "95.50", "active": "on"},
    )
    assert response.status_code == 302
    [entry] = entries_for(special_rate)
    assert (entry.action, entry.changes, entry.actor_email) == (
        "specialratecode.updated",
        {"daily_rate": ["90.00", "95.50"]},
        "admin@example.com",
    )


def test_saving_without_changes_writes_no_entry(admin_user, branch):
    response = ApiClient(admin_user).patch(f"/api/v1/branches/{branch.id}", {"name": "Dubai Airport"})
    assert response.status_code == 200
    assert entries_for(branch) == []


def test_a_refused_change_writes_no_entry(users, branch):
    before = AuditEntry.objects.count()
    assert (
        ApiClient(users["manager"]).patch(f"/api/v1/branches/{branch.id}", {"name": "X"}).status_code == 403
    )
    assert (
        ApiClient(users["admin"]).patch(f"/api/v1/branches/{branch.id}", {"timezone": "Nowhere"}).status_code
        == 422
    )
    assert AuditEntry.objects.count() == before


def test_making_a_new_default_tax_profile_is_audited(admin_user, tax_profile):
    response = ApiClient(admin_user).post(
        "/api/v1/tax-profiles", {"name": "Zero rated", "rate_percent": "0.00", "is_default": True}
    )
    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="taxprofile.created")
    assert entry.changes["is_default"] == [None, True]


def several_writes(admin_user, vehicle, customer):
    api = ApiClient(admin_user)
    assert api.post("/api/v1/branches", {"code": "SHJ", "name": "Sharjah"}).status_code == 201
    assert api.patch(f"/api/v1/vehicles/{vehicle.id}", {"odometer_km": 13000}).status_code == 200
    assert api.patch(f"/api/v1/customers/{customer.id}", {"phone": "+971 50 999 0000"}).status_code == 200
    assert api.post("/api/v1/special-rate-codes", {"code": "CORP", "daily_rate": "80.00"}).status_code == 201
    assert (
        login_client(admin_user)
        .post(
            f"/customers/{customer.id}/edit/",
            {
                "customer_no": customer.customer_no,
                "kind": "person",
                "full_name": "Ahmed Al Mansouri",
                "active": "on",
            },
        )
        .status_code
        == 302
    )


def test_the_chain_verifies_after_several_writes(admin_user, vehicle, customer):
    several_writes(admin_user, vehicle, customer)
    assert audit.verify_chain() == []  # links what is pending, then walks the whole chain
    entries = list(AuditEntry.objects.order_by("chain_seq"))
    assert len(entries) >= 5
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]


def test_the_chain_reports_an_entry_whose_changes_were_tampered_with(admin_user, vehicle, customer):
    several_writes(admin_user, vehicle, customer)
    audit.link_pending(wait=True)
    target = AuditEntry.objects.get(action="vehicle.updated")
    # someone with database access rewrites history, bypassing the model and the trigger
    tamper(
        "UPDATE audit_auditentry SET changes = %s WHERE id = %s",
        ['{"odometer_km": [12000, 9000]}', target.pk],
    )
    assert audit.verify_chain() == [target.pk]


def test_the_chain_reports_a_deleted_entry_through_the_broken_link(admin_user, vehicle, customer):
    several_writes(admin_user, vehicle, customer)
    audit.link_pending(wait=True)
    entries = list(AuditEntry.objects.order_by("chain_seq"))
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[2].pk])
    assert audit.verify_chain() == [entries[3].pk]


def test_audit_entries_cannot_be_changed_or_deleted_through_the_model(admin_user, vehicle, customer):
    several_writes(admin_user, vehicle, customer)
    entry = AuditEntry.objects.first()
    entry.message = "edited"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    with pytest.raises(RuntimeError):
        AuditEntry.objects.filter(pk=entry.pk).update(message="edited")
    with pytest.raises(RuntimeError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert audit.verify_chain() == []
