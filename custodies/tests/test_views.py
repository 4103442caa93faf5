"""Custody pages: list, wizard, detail and actions, as a user drives them."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.choices import Role
from audit.context import acting_as
from conftest import login_client, make_user, make_vehicle
from custodies import services
from custodies.models import Custody
from custodies.tests.conftest import attach, draft_data
from fleet.models import Customer, RentalAgreement

pytestmark = pytest.mark.django_db

LOCAL = "%Y-%m-%dT%H:%M"


def local(dt):
    return timezone.localtime(dt).strftime(LOCAL)


def numbers(response):
    return set(re.findall(r"CST-\d{6,}", response.content.decode()))


@pytest.fixture
def operator_client(users):
    return login_client(users[Role.OPERATOR])


def _run(user, func, *args, **kwargs):
    with acting_as(user, "web"):
        return func(user, *args, **kwargs)


@pytest.fixture
def pending(users, make_draft):
    custody = make_draft()
    _run(users[Role.OPERATOR], services.submit_custody, custody.id)
    custody.refresh_from_db()
    return custody


def _many_drafts(n, users, branch, vehicle_class, customer, start=0):
    """n drafts, each with its own agreement and vehicles (no replacement: fast and valid)."""
    now = timezone.now()
    operator = users[Role.OPERATOR]
    made = []
    for i in range(start, start + n):
        original = make_vehicle(branch, vehicle_class, f"DXB-Q-{i:05d}", status="rented")
        agreement = RentalAgreement.objects.create(
            agreement_no=f"RA-9{i:05d}",
            customer=customer,
            vehicle=original,
            branch=branch,
            start_at=now - timedelta(days=3),
            end_at=now + timedelta(days=20),
            daily_rate=100,
            monthly_rate=2000,
        )
        made.append(
            _run(
                operator,
                services.create_custody,
                draft_data(agreement, None, reason_code="maintenance", reason_subcode="regular_service"),
            )
        )
    return made


# ---- list ----------------------------------------------------------------------------------------


def test_list_shows_custodies_with_sla_and_links(operator_client, pending, make_draft):
    draft = make_draft(incident_ref="POL-777")
    response = operator_client.get("/custodies/")
    assert response.status_code == 200
    body = response.content.decode()
    assert {pending.custody_no, draft.custody_no} <= numbers(response)
    assert f"/custodies/{pending.pk}/" in body
    assert "left" in body  # pending approval: "1 h 0 m left"-style SLA badge
    assert "Pending approval" in body


def test_list_rows_print_each_column_escaped_with_its_badges(operator_client, pending, make_draft):
    draft = make_draft(custodian_name='<b>"Ali" & Sons</b>')
    Custody.objects.filter(pk=draft.pk).update(replacement_vehicle=None)
    body = operator_client.get("/custodies/").content.decode()
    row = re.search(rf"<tr>\s*<td class=\"cell-check\">.{{0,300}}{draft.pk}.*?</tr>", body, re.S).group(0)
    name = "&lt;b&gt;&quot;Ali&quot; &amp; Sons&lt;/b&gt;"
    assert f'<td class="text-truncate cell-name cell-xxl" title="{name}">{name}</td>' in row
    assert f'<span class="visually-hidden">Select {draft.custody_no}</span>' in row
    assert (
        f'<a href="/custodies/{draft.pk}/" class="fw-semibold stretched-link-sm">{draft.custody_no}</a>'
        in row
    )
    assert '<td class="cell-status"><span class="badge text-bg-secondary">Draft</span></td>' in row
    assert '<td class="cell-sla cell-empty"><span class="text-muted">—</span></td>' in row
    assert '<td class="cell-plate cell-to"><bdi dir="ltr">—</bdi></td>' in row
    assert "<b>" not in row
    pending_row = re.search(
        rf"<tr>\s*<td class=\"cell-check\">.{{0,300}}{pending.pk}.*?</tr>", body, re.S
    ).group(0)
    badge = re.search(
        r'<td class="cell-sla"><span class="badge text-bg-(\w+) sla-badge" title="([^"]+)">([^<]+)</span>',
        pending_row,
    )
    assert badge, pending_row
    assert badge.group(2).startswith("Approval · ") and " · due " in badge.group(2)
    assert badge.group(3).endswith("left")


def test_list_filter_bar_keeps_the_pages_values_with_bootstrap_classes(operator_client):
    body = operator_client.get(
        "/custodies/?status=active&reason_code=accident&date_from=bad"
    ).content.decode()
    assert '<select name="reason_code" class="form-select form-select-sm" id="id_reason_code">' in body
    assert '<option value="accident" selected>Accident</option>' in body
    date = '<input type="date" name="date_from" value="bad" class="form-control form-control-sm is-invalid"'
    assert f'{date} aria-invalid="true" aria-describedby="id_date_from_error" id="id_date_from">' in body
    assert '<label class="form-label small text-muted mb-0" for="id_date_from">Created from</label>' in body
    status = '<input type="checkbox" class="btn-check" name="status" value="{}" id="status-{}" autocomplete="off"{}>'
    assert status.format("active", "active", " checked") in body
    assert status.format("draft", "draft", "") in body
    assert '<label class="btn btn-sm btn-outline-secondary" for="status-draft">Draft</label>' in body


def test_list_filters_status_multi_plate_and_q(
    operator_client, users, make_draft, pending, spare_vehicle, vehicle
):
    draft = make_draft()
    voided = make_draft()
    _run(users[Role.OPERATOR], services.void_custody, voided.id, "duplicate")

    response = operator_client.get("/custodies/?status=draft&status=voided")
    assert numbers(response) == {draft.custody_no, voided.custody_no}

    response = operator_client.get("/custodies/?status=pending_approval")
    assert numbers(response) == {pending.custody_no}

    response = operator_client.get(f"/custodies/?q={draft.custody_no}")
    assert numbers(response) == {draft.custody_no}
    response = operator_client.get(f"/custodies/?q={draft.custody_no[4:]}")  # the digits alone
    assert numbers(response) == {draft.custody_no}

    response = operator_client.get(f"/custodies/?plate={vehicle.plate.lower()}")
    assert numbers(response) == {draft.custody_no, voided.custody_no, pending.custody_no}
    response = operator_client.get("/custodies/?plate=NOPE-1")
    assert numbers(response) == set()
    assert "No custodies match" in response.content.decode()
    assert 'href="/custodies/"' in response.content.decode()  # clear filters


def test_list_other_filters_and_sorting(operator_client, make_draft, agreement):
    first = make_draft(reason_code="accident", reason_subcode="hit_and_run")
    second = make_draft()
    assert numbers(operator_client.get("/custodies/?reason_code=accident")) == {first.custody_no}
    assert numbers(operator_client.get(f"/custodies/?agreement_no={agreement.agreement_no}")) == {
        first.custody_no,
        second.custody_no,
    }
    assert numbers(operator_client.get(f"/custodies/?customer_id={agreement.customer_id}")) == {
        first.custody_no,
        second.custody_no,
    }
    today = timezone.localdate().isoformat()
    assert len(numbers(operator_client.get(f"/custodies/?date_from={today}&date_to={today}"))) == 2
    assert numbers(operator_client.get("/custodies/?sla_state=breached")) == set()
    body = operator_client.get("/custodies/?ordering=custody_no").content.decode()
    assert body.index(first.custody_no) < body.index(second.custody_no)
    body = operator_client.get("/custodies/?ordering=-custody_no").content.decode()
    assert body.index(second.custody_no) < body.index(first.custody_no)


def test_list_bad_filter_is_a_message_not_an_error(operator_client):
    response = operator_client.get("/custodies/?status=flying&ordering=secret")
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_list_htmx_returns_the_results_only(operator_client, make_draft):
    draft = make_draft()
    response = operator_client.get(
        "/custodies/?status=draft", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-results"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert draft.custody_no in body and "<html" not in body
    assert 'hx-swap-oob="true"' in body  # keeps the sort in the filter form


def test_list_honours_the_branch_switcher(users, make_draft, other_branch, vehicle_class, customer):
    admin = users[Role.ADMIN]
    here = make_draft()
    foreign_vehicle = make_vehicle(other_branch, vehicle_class, "AUH-X-1", status="rented")
    now = timezone.now()
    foreign_agreement = RentalAgreement.objects.create(
        agreement_no="RA-AUH-1",
        customer=customer,
        vehicle=foreign_vehicle,
        branch=other_branch,
        start_at=now - timedelta(days=1),
        end_at=now + timedelta(days=9),
        daily_rate=100,
        monthly_rate=2000,
    )
    there = _run(
        admin,
        services.create_custody,
        draft_data(foreign_agreement, None, reason_code="maintenance", reason_subcode="inspection"),
    )
    client = login_client(admin)
    assert numbers(client.get("/custodies/")) == {here.custody_no, there.custody_no}
    session = client.session
    session["branch_id"] = str(other_branch.pk)
    session.save()
    assert numbers(client.get("/custodies/")) == {there.custody_no}
    assert numbers(client.get("/custodies/?branch_id=")) == {here.custody_no, there.custody_no}


def test_the_recent_customers_are_the_orm_querys_rows_for_every_scope(
    users, make_draft, other_branch, vehicle_class, customer
):
    from custodies import selectors

    second = Customer.objects.create(customer_no="C-2", full_name="Second O'Brien")
    make_draft()
    Custody.objects.filter(pk=make_draft().pk).update(customer=second)
    foreign_vehicle = make_vehicle(other_branch, vehicle_class, "AUH-X-2", status="rented")
    now = timezone.now()
    foreign_agreement = RentalAgreement.objects.create(
        agreement_no="RA-AUH-2",
        customer=second,
        vehicle=foreign_vehicle,
        branch=other_branch,
        start_at=now - timedelta(days=1),
        end_at=now + timedelta(days=9),
        daily_rate=100,
        monthly_rate=2000,
    )
    _run(
        users[Role.ADMIN],
        services.create_custody,
        draft_data(foreign_agreement, None, reason_code="maintenance", reason_subcode="inspection"),
    )
    nowhere = make_user(Role.OPERATOR, email="nowhere@example.com")
    elsewhere = make_user(Role.OPERATOR, other_branch, email="elsewhere@example.com")
    for user in (users[Role.ADMIN], users[Role.OPERATOR], elsewhere, nowhere):
        for n in (300, 2):
            orm = (
                selectors.custodies_for(user)
                .order_by("-created_at")
                .values_list("customer_id", "customer__full_name")[:n]
            )
            assert selectors.recent_customers(user, n) == list(orm), user.email
    assert len(selectors.recent_customers(users[Role.ADMIN])) == 3
    assert selectors.recent_customers(nowhere) == []


def test_the_recent_customers_are_kept_a_while_and_forgotten_when_a_custody_is_saved(
    users, make_draft, customer, settings, monkeypatch
):
    from core import kept
    from custodies import selectors

    settings.CUSTODY_RECENT_CUSTOMERS_SECONDS = 60
    admin = users[Role.ADMIN]
    make_draft()
    clock = [1000.0]
    monkeypatch.setattr(kept.time, "monotonic", lambda: clock[0])
    first = selectors.recent_customers(admin)
    assert [name for _, name in first] == [customer.full_name]
    with CaptureQueriesContext(connection) as kept:
        assert selectors.recent_customers(admin) == first
    assert len(kept) == 0

    # Written behind the ORM's back (another process): seen once the minute is over.
    second = Customer.objects.create(customer_no="C-2", full_name="Second Customer")
    draft = make_draft()
    before = selectors.recent_customers(admin)
    Custody.objects.filter(pk=draft.pk).update(customer=second)
    clock[0] += 59
    assert selectors.recent_customers(admin) == before
    assert "Second Customer" not in {name for _, name in before}
    clock[0] += 2
    assert "Second Customer" in {name for _, name in selectors.recent_customers(admin)}

    # A custody saved in this process: at once.
    third = Customer.objects.create(customer_no="C-3", full_name="Third Customer")
    selectors.recent_customers(admin)
    custody = make_draft()
    custody.customer = third
    custody.save()
    assert "Third Customer" in {name for _, name in selectors.recent_customers(admin)}

    settings.CUSTODY_RECENT_CUSTOMERS_SECONDS = 0
    selectors.forget_recent_customers()
    selectors.recent_customers(admin)
    with CaptureQueriesContext(connection) as unkept:
        selectors.recent_customers(admin)
    assert len(unkept) == 1


def test_list_query_count_does_not_grow_with_rows(users, branch, vehicle_class, customer, operator_client):
    _many_drafts(5, users, branch, vehicle_class, customer)
    operator_client.get("/custodies/")  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as five:
        assert operator_client.get("/custodies/").status_code == 200
    _many_drafts(
        45,
        users,
        branch,
        vehicle_class,
        Customer.objects.create(customer_no="C-2", full_name="Second"),
        start=100,
    )
    operator_client.get("/custodies/")  # the filter's recent customers read again after the new custodies
    with CaptureQueriesContext(connection) as fifty:
        response = operator_client.get("/custodies/")
    assert len(numbers(response)) == 50
    assert len(fifty.captured_queries) == len(five.captured_queries), [
        q["sql"] for q in fifty.captured_queries
    ]


def test_list_paginates_with_page_numbers(users, branch, vehicle_class, customer, operator_client):
    _many_drafts(7, users, branch, vehicle_class, customer)
    first = operator_client.get("/custodies/?limit=3")
    assert len(numbers(first)) == 3
    assert "page=3" in first.content.decode()
    third = operator_client.get("/custodies/?limit=3&page=3")
    assert len(numbers(third)) == 1


# ---- wizard --------------------------------------------------------------------------------------


def test_viewer_cannot_open_the_wizard(users):
    assert login_client(users[Role.VIEWER]).get("/custodies/new/").status_code == 403


def test_pickers_search_agreements_customers_vehicles(operator_client, agreement, spare_vehicle):
    body = operator_client.get("/custodies/pickers/agreements/?q=RA-1000").content.decode()
    assert agreement.agreement_no in body and f'data-fill-customer_id="{agreement.customer_id}"' in body
    assert (
        agreement.customer.full_name
        in operator_client.get("/custodies/pickers/customers/?q=Ahmed").content.decode()
    )
    assert spare_vehicle.plate in operator_client.get("/custodies/pickers/vehicles/?q=DXB-B").content.decode()


def test_wizard_walk_creates_a_draft_and_saves_each_step(
    operator_client, users, agreement, vehicle, spare_vehicle, special_rate
):
    assert operator_client.get("/custodies/new/").status_code == 200
    response = operator_client.post(
        "/custodies/new/", {"agreement_id": agreement.pk, "reason_code": "breakdown", "nav": "next"}
    )
    custody = Custody.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/custodies/{custody.pk}/wizard/reason/"
    assert (custody.status, custody.customer_id, custody.original_vehicle_id, custody.branch_id) == (
        "draft",
        agreement.customer_id,
        vehicle.pk,
        agreement.branch_id,
    )
    assert custody.custodian_name == agreement.customer.full_name

    base = f"/custodies/{custody.pk}/wizard"
    incident = timezone.now() - timedelta(hours=3)
    assert operator_client.get(f"{base}/reason/").status_code == 200
    response = operator_client.post(
        f"{base}/reason/",
        {
            "version": custody.version,
            "reason_code": "breakdown",
            "reason_subcode": "tire_blowout",
            "incident_at": local(incident),
            "incident_ref": "RTA-1",
            "incident_location": "E11",
            "incident_odometer_km": "23000",
            "incident_narrative": "Tyre burst",
            "nav": "next",
        },
    )
    assert response["Location"] == f"{base}/custodian/"
    custody.refresh_from_db()
    assert (custody.reason_subcode, custody.incident_ref, custody.incident_odometer_km) == (
        "tire_blowout",
        "RTA-1",
        23000,
    )

    response = operator_client.post(
        f"{base}/custodian/",
        {
            "version": custody.version,
            "custodian_type": "driver",
            "custodian_name": "Sara Driver",
            "custodian_phone": "+971 55 000 0000",
            "nav": "next",
        },
    )
    assert response["Location"] == f"{base}/replacement/"
    custody.refresh_from_db()
    assert (custody.custodian_type, custody.custodian_name) == ("driver", "Sara Driver")

    page = operator_client.get(f"{base}/replacement/").content.decode()
    assert spare_vehicle.plate in page and vehicle.plate not in page.split("replacement-options")[1]
    start = timezone.now() - timedelta(hours=1)
    response = operator_client.post(
        f"{base}/replacement/",
        {
            "version": custody.version,
            "replacement_vehicle_id": spare_vehicle.pk,
            "effective_from": local(start),
            "expected_return_at": local(start + timedelta(days=4)),
            "nav": "next",
        },
    )
    assert response["Location"] == f"{base}/rate/"
    custody.refresh_from_db()
    assert custody.replacement_vehicle_id == spare_vehicle.pk

    response = operator_client.post(
        f"{base}/rate/",
        {
            "version": custody.version,
            "rate_policy": "special_code",
            "special_rate_code_id": special_rate.pk,
            "damage_hold_amount": "500",
            "deposit_carryover": "250",
            "insurer_name": "Oman Insurance",
            "nav": "save",
        },
    )
    assert response["Location"] == f"{base}/rate/"  # "Save draft" stays on the step
    custody.refresh_from_db()
    assert (
        custody.rate_policy,
        custody.special_rate_code_id,
        str(custody.damage_hold_amount),
        custody.insurer_name,
    ) == ("special_code", special_rate.pk, "500.00", "Oman Insurance")

    assert operator_client.get(f"{base}/documents/").status_code == 200
    assert operator_client.post(f"{base}/documents/")["Location"] == f"{base}/review/"
    audit_updates = custody.version - 1
    assert audit_updates == 4  # one save per step after creation


def test_wizard_shows_service_errors_next_to_fields(operator_client, make_draft):
    custody = make_draft()
    base = f"/custodies/{custody.pk}/wizard"
    future = timezone.now() + timedelta(days=2)
    response = operator_client.post(
        f"{base}/reason/",
        {
            "version": custody.version,
            "reason_code": "breakdown",
            "reason_subcode": "",
            "incident_at": local(future),
            "nav": "next",
        },
    )
    assert response.status_code == 422
    assert "The incident cannot be in the future." in response.content.decode()
    response = operator_client.post(
        f"{base}/reason/",
        {
            "version": custody.version,
            "reason_code": "breakdown",
            "reason_subcode": "fire",
            "incident_at": local(timezone.now()),
            "nav": "next",
        },
    )
    assert "does not belong to the chosen reason" in response.content.decode()
    custody.refresh_from_db()
    assert custody.reason_subcode == "engine_failure"  # nothing saved


def test_wizard_stale_version_is_refused(operator_client, make_draft):
    custody = make_draft()
    response = operator_client.post(
        f"/custodies/{custody.pk}/wizard/custodian/",
        {
            "version": custody.version - 1 or 99,
            "custodian_type": "customer",
            "custodian_name": "X",
            "nav": "next",
        },
    )
    assert response.status_code == 422
    assert "changed by someone else" in response.content.decode()


def test_review_shows_errors_then_submit_works(operator_client, make_draft, users):
    custody = make_draft(expected_return_at=None, rate_policy="inherit")
    review = f"/custodies/{custody.pk}/wizard/review/"
    body = operator_client.get(review).content.decode()
    assert "Fix these before submitting" in body and "expected return" in body.lower()
    assert "disabled" in body
    response = operator_client.post(review, {"version": custody.version})
    assert response.status_code == 422
    custody.refresh_from_db()
    assert custody.status == "draft"

    operator_client.post(
        f"/custodies/{custody.pk}/wizard/replacement/",
        {
            "version": custody.version,
            "replacement_vehicle_id": custody.replacement_vehicle_id,
            "effective_from": local(custody.effective_from),
            "until_original_ready": "on",
            "nav": "next",
        },
    )
    custody.refresh_from_db()
    assert custody.until_original_ready
    body = operator_client.get(review).content.decode()
    assert "Fix these before submitting" not in body
    response = operator_client.post(review, {"version": custody.version}, follow=True)
    custody.refresh_from_db()
    assert custody.status == "pending_approval"
    assert "submitted for approval" in response.content.decode()


def test_review_lists_missing_documents_with_a_link_to_the_documents_step(
    operator_client, users, agreement, spare_vehicle
):
    custody = _run(users[Role.OPERATOR], services.create_custody, draft_data(agreement, spare_vehicle))
    response = operator_client.get(f"/custodies/{custody.pk}/wizard/review/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Required document missing: Incident report." in body
    assert f"/custodies/{custody.pk}/wizard/documents/" in body


def test_review_shows_warnings(operator_client, make_draft):
    custody = make_draft(expected_return_at=timezone.now() + timedelta(hours=5))  # < 1 day
    body = operator_client.get(f"/custodies/{custody.pk}/wizard/review/").content.decode()
    assert "Warnings" in body and "less than one day" in body


def test_replacement_picker_lists_only_free_vehicles(
    operator_client, users, make_draft, branch, vehicle_class, spare_vehicle, foreign_vehicle
):
    held = make_vehicle(branch, vehicle_class, "DXB-H-1", status="available")
    other_class = make_vehicle(
        branch,
        vehicle_class.__class__.objects.create(code="SUV", name="SUV", daily_rate=200, monthly_rate=4000),
        "DXB-S-1",
        status="available",
    )
    broken = make_vehicle(branch, vehicle_class, "DXB-M-1", status="maintenance")
    holder = make_draft(
        replacement_vehicle_id=held.pk,
        reason_code="maintenance",
        reason_subcode="inspection",
        rate_policy="free",
    )
    _run(users[Role.OPERATOR], services.submit_custody, holder.id)  # auto-approved: `held` is reserved
    held.refresh_from_db()
    Custody.objects.filter(pk=holder.pk).update(status="approved")
    custody = make_draft(replacement_vehicle_id=None)
    response = operator_client.get(
        f"/custodies/{custody.pk}/wizard/replacement/vehicles/",
        {
            "effective_from": local(timezone.now()),
            "expected_return_at": local(timezone.now() + timedelta(days=2)),
        },
    )
    body = response.content.decode()
    assert spare_vehicle.plate in body and other_class.plate in body
    assert held.plate not in body and broken.plate not in body and foreign_vehicle.plate not in body
    assert body.index(spare_vehicle.plate) < body.index(other_class.plate)  # the original's class first


# ---- detail and actions --------------------------------------------------------------------------


def _buttons(response):
    return set(re.findall(r'data-action="(\w+)"', response.content.decode()))


def test_detail_shows_only_allowed_buttons_per_role(users, make_draft, pending):
    draft = make_draft()
    assert _buttons(login_client(users[Role.VIEWER]).get(f"/custodies/{draft.pk}/")) == set()
    assert _buttons(login_client(users[Role.OPERATOR]).get(f"/custodies/{draft.pk}/")) == {"submit", "void"}
    assert _buttons(login_client(users[Role.VIEWER]).get(f"/custodies/{pending.pk}/")) == set()
    assert _buttons(login_client(users[Role.OPERATOR]).get(f"/custodies/{pending.pk}/")) == set()
    assert _buttons(login_client(users[Role.SUPERVISOR]).get(f"/custodies/{pending.pk}/")) == {
        "approve",
        "reject",
    }
    assert _buttons(login_client(users[Role.MANAGER]).get(f"/custodies/{pending.pk}/")) == {
        "approve",
        "reject",
        "void",
    }
    assert "Edit" in login_client(users[Role.OPERATOR]).get(f"/custodies/{draft.pk}/").content.decode()
    assert (
        f"/custodies/{draft.pk}/wizard/"
        not in login_client(users[Role.VIEWER]).get(f"/custodies/{draft.pk}/").content.decode()
    )


def test_detail_out_of_branch_is_404(users, make_draft, other_branch):
    custody = make_draft()
    stranger = make_user(Role.MANAGER, other_branch, email="stranger@example.com")
    client = login_client(stranger)
    assert client.get(f"/custodies/{custody.pk}/").status_code == 404
    assert client.post(f"/custodies/{custody.pk}/action/void/", {"reason": "x"}).status_code == 404
    assert client.get(f"/custodies/{custody.pk}/wizard/reason/").status_code == 404
    custody.refresh_from_db()
    assert custody.status == "draft"


def test_action_not_allowed_is_403_or_409_and_changes_nothing(users, make_draft, pending):
    draft = make_draft()
    viewer = login_client(users[Role.VIEWER])
    assert viewer.post(f"/custodies/{draft.pk}/action/void/", {"reason": "no"}).status_code == 403
    operator = login_client(users[Role.OPERATOR])
    assert operator.post(f"/custodies/{pending.pk}/action/approve/", {}).status_code == 403
    response = operator.post(f"/custodies/{draft.pk}/action/close/", {"returned_at": local(timezone.now())})
    assert response.status_code == 409
    assert "only an active custody can be closed" in response.content.decode()
    assert operator.post(f"/custodies/{draft.pk}/action/explode/", {}).status_code == 404
    draft.refresh_from_db()
    pending.refresh_from_db()
    assert (draft.status, pending.status) == ("draft", "pending_approval")


def test_void_needs_a_reason_and_reopens_the_modal(users, make_draft):
    custody = make_draft()
    client = login_client(users[Role.OPERATOR])
    response = client.post(f"/custodies/{custody.pk}/action/void/", {"reason": ""})
    assert response.status_code == 422
    assert 'id="modal-void"' in response.content.decode() and "data-show-on-load" in response.content.decode()
    response = client.post(f"/custodies/{custody.pk}/action/void/", {"reason": "Opened twice"}, follow=True)
    custody.refresh_from_db()
    assert custody.status == "voided" and custody.void_reason == "Opened twice"
    assert "was voided" in response.content.decode()


def test_submit_shows_warnings(users, make_draft):
    custody = make_draft(expected_return_at=timezone.now() + timedelta(hours=6))
    response = login_client(users[Role.OPERATOR]).post(
        f"/custodies/{custody.pk}/action/submit/", {"version": custody.version}, follow=True
    )
    body = response.content.decode()
    assert "alert-warning" in body and "less than one day" in body


def test_submit_errors_come_back_on_the_page(users, make_draft):
    custody = make_draft(expected_return_at=None)
    response = login_client(users[Role.OPERATOR]).post(f"/custodies/{custody.pk}/action/submit/", {})
    assert response.status_code == 422
    assert "expected return" in response.content.decode().lower()


def test_full_lifecycle_through_the_pages(users, pending, spare_vehicle, vehicle):
    supervisor = login_client(users[Role.SUPERVISOR])
    response = supervisor.post(f"/custodies/{pending.pk}/action/approve/", {"notes": "fine"}, follow=True)
    assert "You approved" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "approved"

    operator = login_client(users[Role.OPERATOR])
    body = operator.get(f"/custodies/{pending.pk}/").content.decode()
    assert 'id="modal-handover"' in body and spare_vehicle.plate in body
    response = operator.post(
        f"/custodies/{pending.pk}/action/handover/",
        {"replacement_vehicle_id": spare_vehicle.pk, "odometer_km": "15000", "fuel_level": "8"},
    )
    assert response.status_code == 422  # handover checklist missing
    assert "handover checklist" in response.content.decode().lower()
    attach(pending, "handover_checklist")
    response = operator.post(
        f"/custodies/{pending.pk}/action/handover/",
        {
            "replacement_vehicle_id": spare_vehicle.pk,
            "odometer_km": "15000",
            "fuel_level": "8",
            "notes": "scratch on the door",
        },
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "active" and pending.handover_odometer_km == 15000

    attach(pending, "return_checklist")
    response = operator.post(
        f"/custodies/{pending.pk}/action/close/",
        {"returned_at": local(timezone.now()), "odometer_km": "14000", "fuel_level": "6"},
    )
    assert response.status_code == 422 and "below the handover reading" in response.content.decode()
    response = operator.post(
        f"/custodies/{pending.pk}/action/close/",
        {
            "returned_at": local(timezone.now()),
            "odometer_km": "15420",
            "fuel_level": "6",
            "original_ready": "on",
        },
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "closed"
    body = operator.get(f"/custodies/{pending.pk}/?tab=vehicles").content.decode()
    assert "420 km" in body  # km driven

    timeline = operator.get(f"/custodies/{pending.pk}/?tab=timeline").content.decode()
    for title in (
        "Custody created",
        "Submitted for approval",
        "Level 1 (Supervisor) approved",
        "Replacement handed over",
        "Custody closed",
    ):
        assert title in timeline


def test_detail_renders_for_every_status(users, make_draft, pending, spare_vehicle):
    operator, supervisor, manager = users[Role.OPERATOR], users[Role.SUPERVISOR], users[Role.MANAGER]
    draft = make_draft()
    voided = make_draft()
    _run(operator, services.void_custody, voided.id, "duplicate")
    rejected = make_draft()
    _run(operator, services.submit_custody, rejected.id)
    _run(supervisor, services.reject_custody, rejected.id, "missing photos")
    for role in (Role.VIEWER, Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        for tab in ("overview", "timeline", "approvals"):
            assert login_client(users[role]).get(f"/custodies/{pending.pk}/?tab={tab}").status_code == 200
    _run(supervisor, services.approve_custody, pending.id, notes="ok")
    approved = Custody.objects.get(pk=pending.pk)
    seen = {}
    for custody in (draft, voided, rejected, approved):
        custody.refresh_from_db()
        seen[custody.status] = custody
    # One more in each of active and closed.
    attach(approved, "handover_checklist")
    _run(operator, services.hand_over_custody, approved.id, {"odometer_km": 15000, "fuel_level": 8})
    active = Custody.objects.get(pk=approved.pk)
    for custody in [*seen.values(), active]:
        for role in (Role.VIEWER, Role.OPERATOR, Role.MANAGER, Role.ADMIN):
            for tab in ("overview", "timeline", "vehicles", "documents", "approvals", "audit"):
                response = login_client(users[role]).get(f"/custodies/{custody.pk}/?tab={tab}")
                assert response.status_code == 200, (custody.status, role, tab)
    attach(active, "return_checklist")
    _run(
        operator,
        services.close_custody,
        active.id,
        {"returned_at": timezone.now(), "odometer_km": 15100, "fuel_level": 7},
    )
    response = login_client(manager).get(f"/custodies/{active.pk}/")
    assert response.status_code == 200 and _buttons(response) == set()
    listing = login_client(manager).get("/custodies/")
    assert listing.status_code == 200 and len(numbers(listing)) == 4
    assert (
        login_client(operator).get(f"/custodies/{active.pk}/wizard/reason/").status_code == 302
    )  # not a draft
    assert "missing photos" in login_client(operator).get(f"/custodies/{rejected.pk}/").content.decode()


def test_detail_approvals_tab_and_audit_csv(users, pending):
    supervisor = login_client(users[Role.SUPERVISOR])
    body = supervisor.get(f"/custodies/{pending.pk}/?tab=approvals").content.decode()
    assert "Submission round 1" in body and "<strong>Supervisor</strong>" in body
    response = supervisor.get(f"/custodies/{pending.pk}/audit/?format=csv&action=custody.submitted")
    assert response["Content-Type"].startswith("text/csv")
    rows = b"".join(response.streaming_content).decode().strip().splitlines()
    assert len(rows) == 2 and "custody.submitted" in rows[1]
    partial = supervisor.get(f"/custodies/{pending.pk}/audit/?actor=operator", HTTP_HX_REQUEST="true")
    assert "custody.created" in partial.content.decode() and "<html" not in partial.content.decode()
    full = supervisor.get(f"/custodies/{pending.pk}/audit/?action=custody.created")
    assert full.status_code == 302 and "tab=audit" in full["Location"]


def test_pages_have_no_inline_scripts(users, make_draft, pending):
    draft = make_draft()
    client = login_client(users[Role.MANAGER])
    for url in (
        "/custodies/",
        f"/custodies/{draft.pk}/",
        f"/custodies/{pending.pk}/",
        f"/custodies/{draft.pk}/wizard/reason/",
        f"/custodies/{draft.pk}/wizard/review/",
        "/custodies/new/",
    ):
        body = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), url
        assert not re.search(r"\son[a-z]+=", body), url


# ---- dashboard -----------------------------------------------------------------------------------


def test_dashboard_custody_cards(users, pending, make_draft, vehicle):
    supervisor = users[Role.SUPERVISOR]
    body = login_client(supervisor).get("/").content.decode()
    assert re.search(r'id="kpi-approvals">1<', body)
    assert re.search(r'id="kpi-active">0<', body)
    assert "/custodies/?sla_state=at_risk" in body and "/custodies/?sla_state=breached" in body
    assert pending.custody_no in body and "custody.submitted" in body  # recent activity

    Custody.objects.filter(pk=pending.pk).update(sla_approve_due_at=timezone.now() - timedelta(minutes=5))
    body = login_client(supervisor).get("/").content.decode()
    assert re.search(r'id="kpi-breached">1<', body)

    _run(supervisor, services.approve_custody, pending.id)
    attach(pending, "handover_checklist")
    _run(
        users[Role.OPERATOR], services.hand_over_custody, pending.id, {"odometer_km": 15000, "fuel_level": 8}
    )
    body = login_client(users[Role.VIEWER]).get("/").content.decode()
    assert re.search(r'id="kpi-active">1<', body)
    table = body.split('id="workshop-table"')[1]
    assert vehicle.plate in table and pending.custody_no in table


def test_the_notifications_tab_lists_who_was_told_about_the_custody(users, make_draft):
    from custodies import services as custody_services
    from integrations.models import OutboxEvent
    from integrations.services import dispatch_event

    custody = make_draft()
    custody_services.submit_custody(users[Role.OPERATOR], custody.id)
    for event in OutboxEvent.objects.filter(dispatched_at__isnull=True):
        dispatch_event(event.id)
    page = (
        login_client(users[Role.OPERATOR]).get(f"/custodies/{custody.id}/?tab=notifications").content.decode()
    )
    assert "tab-notifications" in page
    assert str(users[Role.SUPERVISOR]) in page


def test_the_list_exports_csv_and_xlsx_with_its_filters(users, make_draft):
    import io

    from openpyxl import load_workbook

    kept = make_draft()
    dropped = make_draft()
    from custodies import services as custody_services

    custody_services.void_custody(users[Role.OPERATOR], dropped.id, "duplicate")
    client = login_client(users[Role.OPERATOR])
    csv = b"".join(client.get("/custodies/?status=draft&format=csv").streaming_content).decode("utf-8-sig")
    assert kept.custody_no in csv and dropped.custody_no not in csv
    sheet = load_workbook(io.BytesIO(client.get("/custodies/?format=xlsx").content)).active
    assert sheet.max_row == 3


def test_the_custody_export_has_labels_local_times_and_amounts(users, make_draft):
    from decimal import Decimal

    from billing.models import Payment

    custody = make_draft(reason_code="breakdown", reason_subcode="engine_failure")
    Payment.objects.create(custody=custody, amount=Decimal("100.00"), method="cash", payer="customer")
    client = login_client(users[Role.OPERATOR])
    body = b"".join(client.get("/custodies/?format=csv").streaming_content).decode("utf-8-sig")
    header, row = body.splitlines()[:2]
    assert header.startswith("Custody no.,Status,Branch,Customer")
    assert ",Draft," in row and ",Breakdown,Engine failure," in row and "engine_failure" not in row
    assert row.endswith(",0.00,0.00,100.00,-100.00")  # hold, charged, paid, outstanding
    local = timezone.localtime(custody.created_at).strftime("%d/%m/%Y %H:%M")  # the one date format
    assert local in row


def test_the_detail_page_is_lists_not_wide_tables_and_its_tabs_say_there_is_more(
    users, make_draft, tax_profile
):
    """Issue 12 point 9: at 375 px a table either scrolls sideways or hides columns; every tab is a list
    of stacked entries instead (as the audit entries), and the tab row has its overflow arrows."""
    from billing import services as billing_services

    operator, finance = users[Role.OPERATOR], users[Role.FINANCE]
    custody = make_draft()
    _run(operator, services.submit_custody, custody.id)
    _run(users[Role.SUPERVISOR], services.approve_custody, custody.id)
    billing_services.record_payment(
        finance, custody.id, {"amount": "100.00", "method": "card", "payer": "customer", "as_credit": True}
    )
    client = login_client(operator)
    page = client.get(f"/custodies/{custody.id}/").content.decode()
    charges = client.get(f"/billing/custodies/{custody.id}/tab/").content.decode()
    # The page renders its open tab; the others load when first shown (custody_tab).
    tabs = page[page.index('class="tab-content') : page.index('class="modal')] + "".join(
        client.get(f"/custodies/{custody.id}/tabs/{name}/").content.decode()
        for name in ("timeline", "vehicles", "documents", "approvals", "notifications", "audit")
    )
    assert "<table" not in tabs and "<table" not in charges
    assert page.count('role="tab"') == 8 and "data-scroll-hint" in page
    assert page.count('class="tabs-more') == 2  # an arrow at each edge, shown while tabs are beyond it
    assert (
        'class="list-group-item px-0 charge-item' in charges
        and 'class="list-group-item px-0 payment-item' in charges
    )
    assert tabs.count('class="list-group-item px-0 document-item') == 4
