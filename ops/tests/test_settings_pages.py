"""In-product configuration pages (issue #10 §5): admins only, saved through each app's service with audit,
errors on the form (never a 500), a stale edit refused, and the approval rule's effect previewed."""

import struct
import zlib
from decimal import Decimal

import pytest

from accounts.choices import Role
from approvals.models import ApprovalRule
from audit.context import acting_as
from audit.models import AuditEntry
from conftest import login_client
from custodies import services as custody_services
from custodies.models import SlaPolicy
from custodies.tests.conftest import draft_data
from documents.models import DocumentRule
from fleet.models import CompanyProfile
from ops.settings_pages import SETTINGS, fingerprint
from quotes.models import CostDefaults, CostElement

pytestmark = pytest.mark.django_db

LIST_PAGES = [f"/manage/settings/{slug}/" for slug in SETTINGS]
NEW_PAGES = [
    f"/manage/settings/{slug}/new/" for slug, s in SETTINGS.items() if s.creatable and not s.singleton
]


def rule_form(**overrides):
    data = {
        "name": "Breakdowns: supervisor then manager",
        "priority": "5",
        "active": "on",
        "reason_codes": ["breakdown"],
        "level_1_role": "supervisor",
        "level_1_due_hours": "",
        "level_2_role": "manager",
        "level_2_due_hours": "4",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_every_setting_is_declared_once_with_its_pages():
    assert set(SETTINGS) == {
        "approval-rules",
        "sla-policies",
        "document-rules",
        "company-profile",
        "cost-elements",
        "cost-defaults",
    }


@pytest.mark.parametrize("path", LIST_PAGES + NEW_PAGES)
def test_admins_see_each_page_in_the_admin_navigation(users, vehicle_class, path):
    response = login_client(users[Role.ADMIN]).get(path)
    assert response.status_code == 200, path
    page = response.content.decode()
    assert 'id="settings-nav"' in page
    for slug in SETTINGS:
        assert f"/manage/settings/{slug}/" in page
    assert "/manage/branches/" in page and "/manage/tax-profiles/" in page


@pytest.mark.parametrize("role", [Role.MANAGER, Role.FINANCE, Role.SUPERVISOR, Role.OPERATOR, Role.VIEWER])
def test_other_roles_are_refused_reading_and_writing(users, role):
    client = login_client(users[role])
    for path in LIST_PAGES + NEW_PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/manage/settings/approval-rules/new/", rule_form()).status_code == 403
    assert client.get("/manage/settings/approval-rules/preview/", rule_form()).status_code == 403
    assert not ApprovalRule.objects.filter(name__startswith="Breakdowns").exists()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/manage/settings/approval-rules/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_admin_home_links_the_pages_instead_of_django_admin(users):
    page = login_client(users[Role.ADMIN]).get("/manage/").content.decode()
    assert "/manage/settings/approval-rules/" in page and "/manage/settings/sla-policies/" in page
    assert "/django-admin/approvals/approvalrule/" not in page


def test_an_admin_creates_an_approval_rule_with_levels_and_it_is_audited(users, branch):
    client = login_client(users[Role.ADMIN])
    response = client.post(
        "/manage/settings/approval-rules/new/",
        rule_form(branch_codes=[branch.code], min_damage_hold="1000", custodian_types=["customer"]),
    )
    assert response.status_code == 302
    rule = ApprovalRule.objects.get(name="Breakdowns: supervisor then manager")
    assert rule.levels == [{"role": "supervisor", "due_hours": None}, {"role": "manager", "due_hours": 4}]
    assert (rule.reason_codes, rule.branch_codes, rule.custodian_types) == (
        ["breakdown"],
        ["DXB"],
        ["customer"],
    )
    assert rule.min_damage_hold == Decimal("1000.00") and rule.priority == 5 and rule.active
    entry = AuditEntry.objects.get(action="approvalrule.created")
    assert entry.source == "web" and entry.actor_email == users[Role.ADMIN].email
    assert entry.changes["levels"][1] == rule.levels
    listing = client.get("/manage/settings/approval-rules/").content.decode()
    assert "Breakdowns: supervisor then manager" in listing and "Supervisor, then Manager" in listing


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"level_1_role": "", "level_2_role": "", "level_2_due_hours": ""},
            "Add at least one approval level",
        ),
        ({"auto_approve": "on"}, "either approves automatically or lists levels"),
        ({"min_damage_hold": "5000", "max_damage_hold": "100"}, "The upper limit is below the lower limit"),
        ({"level_2_role": ""}, "Choose the role of this level"),
        ({"name": "Everything else: supervisor"}, "Another rule has this name"),
        ({"name": ""}, "This field is required"),
        ({"priority": "abc"}, "Enter a whole number"),
        ({"level_1_due_hours": "-2"}, "greater than or equal to 0"),
        ({"level_1_due_hours": "900"}, "between 0 and 720 hours"),
        ({"reason_codes": ["flood"]}, "Select a valid choice"),
    ],
)
def test_a_wrong_rule_shows_its_errors_on_the_form_and_saves_nothing(users, overrides, message):
    before = ApprovalRule.objects.count()
    response = login_client(users[Role.ADMIN]).post(
        "/manage/settings/approval-rules/new/", rule_form(**overrides)
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert ApprovalRule.objects.count() == before
    assert not AuditEntry.objects.filter(action__startswith="approvalrule.").exists()


def test_editing_a_rule_someone_changed_meanwhile_is_refused(users):
    rule = ApprovalRule.objects.get(name="Accident: supervisor then manager")
    client = login_client(users[Role.ADMIN])
    shown = fingerprint(rule)
    assert f'value="{shown}"' in client.get(f"/manage/settings/approval-rules/{rule.pk}/").content.decode()
    from approvals.services import save_rule

    with acting_as(users[Role.ADMIN], "web"):
        save_rule(users[Role.ADMIN], rule, {"priority": 21})
    response = client.post(
        f"/manage/settings/approval-rules/{rule.pk}/",
        rule_form(name=rule.name, reason_codes=["accident"], priority="20", _fingerprint=shown),
    )
    assert response.status_code == 409
    assert "Someone else changed this meanwhile" in response.content.decode()
    rule.refresh_from_db()
    assert rule.priority == 21 and rule.reason_codes == ["accident"]
    fresh = client.get(f"/manage/settings/approval-rules/{rule.pk}/").content.decode()
    ok = client.post(
        f"/manage/settings/approval-rules/{rule.pk}/",
        rule_form(name=rule.name, reason_codes=["accident"], priority="22", _fingerprint=fingerprint(rule)),
    )
    assert ok.status_code == 302 and 'name="_fingerprint"' in fresh
    rule.refresh_from_db()
    assert rule.priority == 22


@pytest.fixture
def open_custodies(users, agreement):
    operator = users[Role.OPERATOR]
    made = {}
    with acting_as(operator, "web"):
        for key, overrides in {
            "breakdown": {"reason_code": "breakdown"},
            "accident": {"reason_code": "accident", "reason_subcode": "collision_third_party"},
            "held": {"reason_code": "breakdown", "damage_hold_amount": Decimal("6000")},
        }.items():
            made[key] = custody_services.create_custody(operator, draft_data(agreement, None, **overrides))
    return made


def _figures(page: str) -> dict:
    import re

    return {k: int(v) for k, v in re.findall(r'data-figure="(\w+)">(\d+)<', page)}


def test_the_preview_shows_which_custodies_would_need_which_levels(users, open_custodies):
    client = login_client(users[Role.ADMIN])
    page = client.get("/manage/settings/approval-rules/preview/", rule_form()).content.decode()
    # A new first rule for breakdowns: the plain breakdown now needs a manager too; the one with a 6,000
    # damage hold already did (the default hold rule); the accident keeps its rule.
    assert _figures(page) == {"checked": 3, "matched": 2, "changed": 1, "more_auto": 0, "more_levels": 1}
    assert "A custody this rule matches needs: <strong>Supervisor, then Manager</strong>" in page
    row = page.split(open_custodies["breakdown"].custody_no)[1].split("</tr>")[0]
    assert "Supervisor</td>" in row and "<strong>Supervisor, then Manager</strong>" in row
    assert "breakdown in DXB" in row and "this rule" in row
    assert page.count('data-changed="1"') == 1
    assert not ApprovalRule.objects.filter(name__startswith="Breakdowns").exists()  # nothing saved


def test_the_preview_of_an_edited_rule_replaces_the_saved_one(users, open_custodies):
    rule = ApprovalRule.objects.get(name="Accident: supervisor then manager")
    page = (
        login_client(users[Role.ADMIN])
        .get(
            "/manage/settings/approval-rules/preview/",
            rule_form(
                _pk=str(rule.pk),
                name=rule.name,
                priority="20",
                reason_codes=["accident"],
                auto_approve="on",
                level_1_role="",
                level_2_role="",
                level_2_due_hours="",
            ),
        )
        .content.decode()
    )
    assert _figures(page) == {"checked": 3, "matched": 1, "changed": 1, "more_auto": 1, "more_levels": 0}
    row = page.split(open_custodies["accident"].custody_no)[1].split("</tr>")[0]
    assert "Supervisor, then Manager</td>" in row and "<strong>approved automatically</strong>" in row
    # Switching the rule off sends the accident to the catch-all rule.
    off = (
        login_client(users[Role.ADMIN])
        .get(
            "/manage/settings/approval-rules/preview/",
            rule_form(
                _pk=str(rule.pk), name=rule.name, priority="20", reason_codes=["accident"], active=None
            ),
        )
        .content.decode()
    )
    assert "This rule is switched off" in off
    assert _figures(off)["changed"] == 1 and _figures(off)["matched"] == 0


def test_the_preview_reports_form_errors_instead_of_figures(users):
    page = (
        login_client(users[Role.ADMIN])
        .get(
            "/manage/settings/approval-rules/preview/",
            rule_form(level_1_role="", level_2_role="", level_2_due_hours=""),
        )
        .content.decode()
    )
    assert 'id="preview-errors"' in page and "Add at least one approval level" in page


def test_sla_policies_branch_override_duplicates_and_bad_hours(users, branch):
    client = login_client(users[Role.ADMIN])
    body = {
        "reason_code": "accident",
        "branch": str(branch.pk),
        "approve_within_hours": "1.5",
        "handover_within_hours": "1",
        "close_within_hours": "12",
    }
    assert client.post("/manage/settings/sla-policies/new/", body).status_code == 302
    override = SlaPolicy.objects.get(reason_code="accident", branch=branch)
    assert override.approve_within_hours == Decimal("1.50")
    assert AuditEntry.objects.filter(action="slapolicy.created", object_id=str(override.pk)).exists()
    again = client.post("/manage/settings/sla-policies/new/", body)
    assert again.status_code == 422 and "already has its own policy" in again.content.decode()
    default = {**body, "branch": ""}
    dup_default = client.post("/manage/settings/sla-policies/new/", default)
    assert (
        dup_default.status_code == 422
        and "already has its policy for all branches" in dup_default.content.decode()
    )
    zero = client.post(
        f"/manage/settings/sla-policies/{override.pk}/",
        {**body, "approve_within_hours": "0", "_fingerprint": fingerprint(override)},
    )
    assert zero.status_code == 422
    assert SlaPolicy.objects.filter(reason_code="accident").count() == 2
    edit = client.post(
        f"/manage/settings/sla-policies/{override.pk}/",
        {**body, "close_within_hours": "10", "_fingerprint": fingerprint(override)},
    )
    assert edit.status_code == 302
    override.refresh_from_db()
    assert override.close_within_hours == Decimal("10.00")
    entry = AuditEntry.objects.get(action="slapolicy.updated")
    assert entry.changes == {"close_within_hours": ["12.00", "10.00"]}


def test_document_rules_are_added_switched_off_and_not_duplicated(users):
    client = login_client(users[Role.ADMIN])
    body = {"reason_code": "breakdown", "stage": "submit", "document_type": "photos", "active": "on"}
    assert client.post("/manage/settings/document-rules/new/", body).status_code == 302
    rule = DocumentRule.objects.get(reason_code="breakdown", document_type="photos")
    duplicate = client.post("/manage/settings/document-rules/new/", body)
    assert duplicate.status_code == 422 and "already required" in duplicate.content.decode()
    off = client.post(
        f"/manage/settings/document-rules/{rule.pk}/",
        {**body, "active": "", "_fingerprint": fingerprint(rule)},
    )
    assert off.status_code == 302
    rule.refresh_from_db()
    assert rule.active is False
    assert AuditEntry.objects.filter(action="documentrule.updated", object_id=str(rule.pk)).exists()


def _shown(client, url) -> str:
    """The fingerprint the form carries, as a browser would send it back."""
    import re

    return re.search(r'name="_fingerprint" value="(\w*)"', client.get(url).content.decode()).group(1)


def _png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def test_the_company_profile_is_one_form_with_a_sniffed_logo(users):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login_client(users[Role.ADMIN])
    assert client.get("/manage/settings/company-profile/").status_code == 200
    body = {"name": "Gulf Rentals LLC", "name_ar": "الخليج لتأجير السيارات", "trn": "100234567800003"}
    bad_trn = client.post("/manage/settings/company-profile/", {**body, "trn": "123"})
    assert bad_trn.status_code == 422 and "15 digits" in bad_trn.content.decode()
    fake = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")
    bad_logo = client.post("/manage/settings/company-profile/", {**body, "logo_file": fake})
    assert bad_logo.status_code == 422 and "PNG or JPEG" in bad_logo.content.decode()
    assert not CompanyProfile.objects.exists()
    logo = SimpleUploadedFile("logo.png", _png(), content_type="application/octet-stream")
    assert client.post("/manage/settings/company-profile/", {**body, "logo_file": logo}).status_code == 302
    profile = CompanyProfile.objects.get()
    assert profile.name == "Gulf Rentals LLC" and profile.logo_content_type == "image/png"
    update = client.post(
        "/manage/settings/company-profile/",
        {**body, "phone": "+97140000000", "_fingerprint": fingerprint(profile)},
    )
    assert update.status_code == 302 and CompanyProfile.objects.count() == 1
    assert AuditEntry.objects.get(action="companyprofile.updated").changes == {"phone": ["", "+97140000000"]}


def test_cost_elements_per_vehicle_class_and_the_defaults(users, vehicle_class):
    client = login_client(users[Role.ADMIN])
    listing = client.get("/manage/settings/cost-elements/").content.decode()
    assert vehicle_class.code in listing and f"/manage/settings/cost-elements/{vehicle_class.pk}/" in listing
    body = {
        "acquisition_cost": "85000",
        "maintenance_monthly": "250",
        "insurance_monthly": "180",
        "registration_monthly": "40",
        "roadside_monthly": "15",
        "replacement_monthly": "60",
        "other_monthly": "0",
    }
    url = f"/manage/settings/cost-elements/{vehicle_class.pk}/"
    body["_fingerprint"] = _shown(client, url)
    negative = client.post(url, {**body, "insurance_monthly": "-1"})
    assert negative.status_code == 422 and not CostElement.objects.exists()
    assert client.post(f"/manage/settings/cost-elements/{vehicle_class.pk}/", body).status_code == 302
    assert CostElement.objects.get(vehicle_class=vehicle_class).acquisition_cost == Decimal("85000.00")
    assert client.get("/manage/settings/cost-elements/new/").status_code == 404
    shown = _shown(client, "/manage/settings/cost-defaults/")
    too_high = client.post(
        "/manage/settings/cost-defaults/",
        {"financing_rate_pct": "5.5", "overhead_pct": "8", "target_margin_pct": "100", "_fingerprint": shown},
    )
    assert too_high.status_code == 422
    ok = client.post(
        "/manage/settings/cost-defaults/",
        {"financing_rate_pct": "6", "overhead_pct": "8", "target_margin_pct": "20", "_fingerprint": shown},
    )
    assert ok.status_code == 302
    assert CostDefaults.objects.get().target_margin_pct == Decimal("20.00")


def test_unknown_settings_and_rows_are_404(users):
    client = login_client(users[Role.ADMIN])
    assert client.get("/manage/settings/nothing/").status_code == 404
    assert (
        client.get("/manage/settings/approval-rules/7b0b8f9e-2c47-4c36-9c8a-6f5b2a1f7e10/").status_code == 404
    )


def test_the_pages_speak_arabic(users):
    admin = users[Role.ADMIN]
    admin.language = "ar"
    admin.save(update_fields=["language"])
    page = login_client(admin).get("/manage/settings/approval-rules/new/").content.decode()
    assert 'dir="rtl"' in page
    assert "Effect before saving" not in page and "When (all conditions must match)" not in page
