"""Issue 12 item 7: the timeline and the audit pages in words, not column names and codes."""

import re
from datetime import UTC, datetime
from decimal import Decimal

from django.utils import translation

from accounts import services as account_services
from accounts.choices import Role
from audit import present
from audit.context import acting_as
from audit.models import AuditEntry
from conftest import login_client, make_vehicle
from custodies import services
from custodies.transitions import role_refusal, state_refusal

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _edit(user, custody, **data):
    with acting_as(user, "web"):
        return services.update_custody(user, custody.pk, data)


def _visible_text(html: str) -> str:
    """The page's text without tags and attributes (ids live in links and data attributes)."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_audit_tab_shows_labels_names_and_local_times(users, make_draft, branch, vehicle_class):
    operator = users[Role.OPERATOR]
    draft = make_draft()
    other = make_vehicle(branch, vehicle_class, "DXB-R-777")
    _edit(
        operator,
        draft,
        replacement_vehicle_id=other.pk,
        damage_hold_amount=Decimal("1250"),
        rate_policy="free",
        incident_ref="POL-1",
    )

    body = login_client(operator).get(f"/custodies/{draft.pk}/?tab=audit").content.decode()
    start = body.index('id="tab-audit"')
    audit_tab = body[start : body.index('class="modal', start)]
    text = _visible_text(audit_tab)
    assert not UUID.search(text), UUID.search(text)
    assert "∅" not in text and "None" not in text
    assert "Replacement vehicle:" in text
    assert "DXB-R-777 · " in text  # the car's name, not its id
    assert "Rate policy:" in text and "Free" in text and "free →" not in text
    assert "1,250.00" in text  # money with grouping and two decimals
    assert "Custody edited" in text and "custody.updated" not in text
    assert "Incident reference: — → changed to POL-1" in " ".join(text.split())


def test_timeline_is_in_words(users, make_draft):
    operator = users[Role.OPERATOR]
    pending = make_draft()
    with acting_as(operator, "web"):
        services.submit_custody(operator, pending.pk)
    body = login_client(operator).get(f"/custodies/{pending.pk}/?tab=timeline").content.decode()
    timeline = _visible_text(body[body.index('id="tab-timeline"') : body.index('id="tab-vehicles"')])
    assert "Custody created" in timeline and "Submitted for approval" in timeline
    assert "pending_approval" not in timeline and "∅" not in timeline
    assert not UUID.search(timeline)


@translation.override("en")
def test_times_are_in_the_users_zone_to_the_minute(users, make_draft):
    entry = AuditEntry(
        action="custody.updated",
        object_type="custody",
        object_id="x",
        at=datetime(2026, 3, 1, 20, 30, 15, 123456, tzinfo=UTC),
        changes={"expected_return_at": [None, "2026-03-02T06:05:59.5+00:00"]},
    )
    [shown] = present.present([entry])
    # Asia/Dubai is UTC+4: the change reads 02/03/2026 10:05 (no seconds, no microseconds).
    assert shown.changes[0].label == "Expected return"
    assert (shown.changes[0].before, shown.changes[0].after) == ("—", "02/03/2026 10:05")
    assert shown.at.hour == 0 and shown.at.day == 2


def test_arabic_labels_on_the_audit_tab(users, make_draft):
    operator = users[Role.OPERATOR]
    draft = make_draft()
    _edit(operator, draft, rate_policy="free", custodian_phone="+971 55 234 5678")
    account_services.set_language(operator, "ar")
    body = login_client(operator).get(f"/custodies/{draft.pk}/?tab=audit").content.decode()
    with translation.override("ar"):
        title = str(present.ACTION_TITLES["custody.updated"])
    assert title != "Custody edited" and title in body
    assert 'dir="rtl"' in body
    # Numbers keep their order on the right-to-left page.
    assert '<bdi dir="ltr">+971 55 234 5678</bdi>' in body


@translation.override("en")
def test_refusals_are_whole_sentences(make_draft):
    draft = make_draft()
    assert state_refusal(draft, "approve") == (
        f"{draft.custody_no} is “Draft”: only a custody pending approval can be approved."
    )
    assert state_refusal(draft, "close").endswith("only an active custody can be closed.")
    assert role_refusal("handover") == "Your role may not hand over custodies."


def test_a_refused_approval_says_so_in_a_sentence(users, make_draft, api_as):
    draft = make_draft()
    response = api_as(users[Role.SUPERVISOR]).post(f"/api/v1/custodies/{draft.pk}/approve", {})
    assert response.status_code in (403, 409)
    assert "cannot be approve." not in response.content.decode()


def test_global_audit_log_is_readable(users, make_draft):
    make_draft()
    body = login_client(users[Role.ADMIN]).get("/audit/").content.decode()
    text = _visible_text(body[: body.index('class="modal')])
    assert "Custody created" in text
    assert "∅" not in text


def test_approval_entries_are_labelled_in_the_readers_language(users, make_draft):
    from approvals.models import Approval

    operator, supervisor = users[Role.OPERATOR], users[Role.SUPERVISOR]
    custody = make_draft()
    with acting_as(operator, "web"):
        services.submit_custody(operator, custody.pk)
    with acting_as(supervisor, "web"):
        services.approve_custody(supervisor, custody.pk)
    account_services.set_language(operator, "ar")

    body = login_client(operator).get(f"/custodies/{custody.pk}/?tab=audit").content.decode()
    audit_tab = " ".join(
        _visible_text(body[body.index('id="tab-audit"') : body.index('class="modal')]).split()
    )
    with translation.override("ar"):
        status, level = present.field_label(Approval, "status"), present.field_label(Approval, "level")
        approved = str(Approval._meta.get_field("status").choices[1][1])
    assert (status, level) != ("Status", "Level")  # the field names were not translatable before
    assert f"{status}:" in audit_tab and f"{level}:" in audit_tab
    assert approved in audit_tab
    assert "Status:" not in audit_tab and "Level:" not in audit_tab


def test_every_field_of_an_approval_level_has_a_translatable_label():
    from django.utils.functional import Promise

    from approvals.models import Approval

    unlabelled = [f.name for f in Approval._meta.concrete_fields if not isinstance(f.verbose_name, Promise)]
    assert unlabelled == ["id"]


def test_every_sla_stamp_reads_in_the_readers_language():
    from django.utils.functional import Promise

    from custodies.models import Custody

    stamps = [f for f in Custody._meta.concrete_fields if f.name.startswith("sla_")]
    assert len(stamps) == 12
    assert [f.name for f in stamps if not isinstance(f.verbose_name, Promise)] == []
    breach = AuditEntry(
        action="custody.sla_breached",
        object_type="custody",
        object_id="x",
        at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        changes={"sla_approve_breached_at": [None, "2026-03-01T08:00:00+00:00"]},
    )
    with translation.override("en"):
        assert present.present([breach])[0].changes[0].label == "Approval SLA breached at"
    with translation.override("ar"):
        label = present.present([breach])[0].changes[0].label
    assert label != "Approval SLA breached at" and "SLA" not in label


def test_notes_are_stored_in_english_and_read_in_the_readers_language(make_draft):
    from django.utils.translation import gettext_lazy

    from audit import services as audit
    from custodies.services import AUTO_APPROVED

    custody = make_draft()
    with translation.override("ar"), acting_as(source="system"):  # an Arabic-speaking writer
        with_values = audit.record(
            "custody.approved", custody, message=(AUTO_APPROVED, {"rule": "Small claims"})
        )
        fixed = audit.record("charge.posted", custody, message=gettext_lazy("Posted by the system at close"))
    assert with_values.message == "Approved automatically by rule: Small claims"
    assert fixed.message == "Posted by the system at close"
    with translation.override("ar"):
        shown = [entry.message for entry in present.present([with_values, fixed])]
        expected = [str(AUTO_APPROVED) % {"rule": "Small claims"}, "رحّلها النظام عند الإغلاق"]
    assert shown == expected and "Small claims" in shown[0] and "Approved" not in shown[0]
    # A user's own words stay as typed.
    assert present.message_text("Customer called twice") == "Customer called twice"


def test_a_system_charge_line_reads_in_the_readers_language_in_the_history():
    from billing.rental import describe

    line = AuditEntry(
        action="charge.created",
        object_type="charge",
        object_id="x",
        at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        changes={
            "description": [None, "Fuel: returned 3/8 tank short"],
            "description_key": [None, "fuel"],
            "description_params": [None, {"eighths": 3}],
        },
    )
    with translation.override("ar"):
        [shown] = present.present([line])
        arabic = describe("fuel", {"eighths": 3})
    descriptions = [change.after for change in shown.changes]
    assert arabic != "Fuel: returned 3/8 tank short" and descriptions == [arabic]  # no key or values row
