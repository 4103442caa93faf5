"""Arabic (right-to-left) is a first-class language (DESIGN §14)."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from conftest import login_client

pytestmark = pytest.mark.django_db

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "ar" / "LC_MESSAGES" / "django.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.fixture
def arabic_operator(operator):
    operator.language = "ar"
    operator.save()
    return operator


def test_the_dashboard_is_arabic_and_right_to_left_for_a_user_whose_language_is_arabic(arabic_operator):
    page = login_client(arabic_operator).get("/").content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "لوحة التحكم" in page
    assert "المركبات" in page
    assert "تسجيل الخروج" in page
    assert ">Dashboard<" not in page


def test_the_vehicle_list_is_in_arabic(arabic_operator, vehicle):
    page = login_client(arabic_operator).get("/vehicles/").content.decode()
    assert "رقم اللوحة" in page
    assert "مؤجرة" in page  # the vehicle's status "rented"
    assert "1 سجل" in page


def test_form_errors_are_in_arabic(users, vehicle_class, branch):
    manager = users["manager"]
    manager.language = "ar"
    manager.save()
    response = login_client(manager).post(
        "/vehicles/new/",
        {
            "plate": "DXB-N-1",
            "vin": "SHORT",
            "make": "Kia",
            "model": "Rio",
            "year": "2024",
            "vehicle_class": str(vehicle_class.id),
            "branch": str(branch.id),
            "status": "available",
            "odometer_km": "0",
            "fuel_level": "8",
        },
    )
    assert response.status_code == 400
    assert "يتكون رقم الهيكل (VIN) من 17 خانة" in response.content.decode()


def test_the_login_page_follows_the_browsers_language(db):
    page = Client(headers={"accept-language": "ar"}).get("/accounts/login/").content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "تسجيل الدخول" in page


def test_key_terms_use_the_agreed_arabic_words():
    with translation.override("ar"):
        assert [
            translation.gettext(term)
            for term in ("Custody", "Vehicles", "Customers", "Agreements", "Dashboard", "Log in")
        ] == ["العهدة", "المركبات", "العملاء", "العقود", "لوحة التحكم", "تسجيل الدخول"]


def test_arabic_plurals_follow_the_six_arabic_forms():
    with translation.override("ar"):
        forms = [
            translation.ngettext("%(counter)s record", "%(counter)s records", n) % {"counter": n}
            for n in (0, 1, 2, 5, 11, 100)
        ]
    assert forms == ["0 سجل", "1 سجل", "2 سجل", "5 سجلات", "11 سجلًا", "100 سجل"]


def test_every_arabic_translation_keeps_the_placeholders_of_its_english_text():
    with CATALOGUE.open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)._catalog
    broken = []
    for key, value in catalogue.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if not msgid or not value:
            continue
        if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(value)):
            broken.append(msgid)
    assert broken == []
    assert len(catalogue) > 400
