"""Vehicle condition at handover and return: readings once, damage by zone, out vs in, damage charge."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.choices import Role
from conftest import login_client
from core.errors import InvalidTransition, ValidationFailed
from custodies import services as custody_services
from custodies.tests.conftest import attach
from documents import condition
from documents.models import DamageMark

pytestmark = pytest.mark.django_db


def jpeg(width=40, height=30) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "JPEG")
    return SimpleUploadedFile("dent.jpg", buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def approved(users, make_draft):
    custody = make_draft()
    custody_services.submit_custody(users[Role.OPERATOR], custody.id)
    custody_services.approve_custody(users[Role.SUPERVISOR], custody.id)
    custody.refresh_from_db()
    return custody


def test_handover_readings_are_typed_once_and_prefill_the_dialog(users, approved):
    op = users[Role.OPERATOR]
    condition.record_readings(op, approved.id, "handover", 22710, 7)
    page = login_client(op).get(f"/custodies/{approved.pk}/").content.decode()
    assert 'value="22710"' in page
    assert condition.readings_for(approved, "handover") == (22710, 7)


def test_a_handover_reading_below_the_cars_record_is_refused(users, approved):
    with pytest.raises(ValidationFailed) as refused:
        condition.record_readings(users[Role.OPERATOR], approved.id, "handover", 100, 8)
    assert "odometer_km" in refused.value.details


def test_damage_is_marked_by_zone_with_a_photo(users, approved):
    mark = condition.add_mark(
        users[Role.OPERATOR],
        approved.id,
        "handover",
        {"zone": "front", "damage_type": "scratch", "severity": "minor", "note": "Bumper"},
        photo=jpeg(),
    )
    assert (mark.zone, mark.photo.document_type, mark.photo.content_type) == ("front", "photos", "image/jpeg")
    with pytest.raises(ValidationFailed):
        condition.add_mark(users[Role.OPERATOR], approved.id, "handover", {"zone": "wing"})


def test_the_return_is_recorded_only_while_the_car_is_out(users, approved):
    with pytest.raises(InvalidTransition):
        condition.add_mark(
            users[Role.OPERATOR],
            approved.id,
            "return",
            {"zone": "rear", "damage_type": "dent", "severity": "major"},
        )


def test_return_compares_out_and_in_and_offers_a_damage_charge(users, approved):
    op = users[Role.OPERATOR]
    mark = {"zone": "front", "damage_type": "scratch", "severity": "minor"}
    condition.add_mark(op, approved.id, "handover", mark)
    attach(approved, "handover_checklist")
    custody_services.hand_over_custody(op, approved.id, {"odometer_km": 20000, "fuel_level": 8})
    condition.add_mark(op, approved.id, "return", mark)  # the same scratch: not new
    condition.add_mark(
        op, approved.id, "return", {"zone": "rear", "damage_type": "dent", "severity": "major"}
    )
    new = condition.new_damage(approved)
    assert [(m.zone, m.damage_type) for m in new] == [("rear", "dent")]
    page = login_client(op).get(f"/documents/custody/{approved.pk}/condition/return/").content.decode()
    assert 'data-zone-row="rear"' in page and "table-danger" in page
    assert 'id="damage-charge"' in page and "Rear: Dent (Major)" in page
    response = login_client(op).post(
        f"/billing/custodies/{approved.pk}/charges/",
        {
            "charge_type": "damage",
            "description": "Rear: Dent (Major)",
            "quantity": "1",
            "unit_price": "800",
            "responsibility": "customer",
        },
    )
    assert response.status_code == 302
    assert approved.charges.filter(charge_type="damage", unit_price="800").exists()


def test_the_condition_page_takes_a_camera_photo(users, approved):
    client = login_client(users[Role.OPERATOR])
    page = client.get(f"/documents/custody/{approved.pk}/condition/handover/").content.decode()
    assert 'capture="environment"' in page and 'data-zone="tyres"' in page
    response = client.post(
        f"/documents/custody/{approved.pk}/condition/handover/mark/",
        {"zone": "glass", "damage_type": "crack", "severity": "moderate", "photo": jpeg()},
    )
    assert response.status_code == 302
    assert DamageMark.objects.get().photo is not None
