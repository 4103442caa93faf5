"""Shared fixtures: a small fleet in two branches and one user per role."""

import os
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.choices import Role
from accounts.models import ApiToken, User
from fleet.models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass

pytest_plugins = ["tests.browser.fixtures"]

PASSWORD = "Correct-Horse-42"


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A page request as an Arabic-speaking user leaves Arabic active in the test's thread (the user
    preferences middleware activates it, nothing deactivates it); the next test on the same worker
    would then read Arabic messages."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True, scope="session")
def _shared_cache_of_this_test_process(tmp_path_factory):
    """The "shared" cache (stamps every server process reads, e.g. accounts.filter_menu's generation)
    of this test process alone: under xdist another worker's writes would move this worker's stamps,
    and its pages' query counts would vary with what runs beside them."""
    from django.conf import settings
    from django.test import override_settings

    shared = {**settings.CACHES["shared"], "LOCATION": str(tmp_path_factory.mktemp("shared-cache"))}
    with override_settings(CACHES={**settings.CACHES, "shared": shared}):
        yield


@pytest.fixture(autouse=True)
def _nothing_kept_from_an_earlier_test():
    """Each process keeps small reads a while (core.kept: the list's recent customers, the SLA policies,
    the approval rules, the default tax rate); an earlier test's rows are gone with its database."""
    from core import kept

    kept.forget_all()
    yield
    kept.forget_all()


@pytest.fixture(autouse=True)
def _fast_hashing(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CUSTODY_ONBOARDING_TOUR = False  # the first-login tour would cover pages under test
    settings.CUSTODY_METRICS_FLUSH_IN_REQUEST = False  # monitoring tests flush explicitly
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


@pytest.fixture
def branch(db):
    return Branch.objects.create(code="DXB", name="Dubai Airport", city="Dubai")


@pytest.fixture
def other_branch(db):
    return Branch.objects.create(code="AUH", name="Abu Dhabi Corniche", city="Abu Dhabi")


@pytest.fixture
def vehicle_class(db):
    return VehicleClass.objects.create(
        code="COMP", name="Compact", daily_rate=Decimal("120.00"), monthly_rate=Decimal("2400.00")
    )


def make_vehicle(branch, vehicle_class, plate, **extra):
    vin = (
        (plate.replace("-", "").replace(" ", "") + "A" * 17)[:17].upper().replace("I", "J").replace("O", "P")
    )
    defaults = {"make": "Toyota", "model": "Corolla", "year": 2024, "odometer_km": 12000}
    defaults.update(extra)
    return Vehicle.objects.create(
        plate=plate, vin=vin, vehicle_class=vehicle_class, branch=branch, **defaults
    )


@pytest.fixture
def vehicle(branch, vehicle_class):
    return make_vehicle(branch, vehicle_class, "DXB-A-10001", status="rented")


@pytest.fixture
def spare_vehicle(branch, vehicle_class):
    return make_vehicle(branch, vehicle_class, "DXB-B-20002", status="available")


@pytest.fixture
def foreign_vehicle(other_branch, vehicle_class):
    return make_vehicle(other_branch, vehicle_class, "AUH-C-30003", status="available")


@pytest.fixture
def customer(db):
    return Customer.objects.create(
        customer_no="C-000001",
        full_name="Ahmed Al Mansoori",
        phone="+971 50 123 4567",
        email="ahmed@example.ae",
        national_id="784-1985-1234567-1",
    )


@pytest.fixture
def agreement(customer, vehicle, branch):
    now = timezone.now()
    return RentalAgreement.objects.create(
        agreement_no="RA-100001",
        customer=customer,
        vehicle=vehicle,
        branch=branch,
        start_at=now - timedelta(days=5),
        end_at=now + timedelta(days=25),
        daily_rate=Decimal("150.00"),
        monthly_rate=Decimal("3000.00"),
        deposit_amount=Decimal("1000.00"),
    )


@pytest.fixture
def tax_profile(db):
    return TaxProfile.objects.create(name="UAE VAT", rate_percent=Decimal("5.00"), is_default=True)


@pytest.fixture
def special_rate(db):
    return SpecialRateCode.objects.create(
        code="INS-STD", description="Insurance standard", daily_rate=Decimal("90.00")
    )


def make_user(role, branch=None, email=None, all_branches=False):
    user = User.objects.create_user(
        email=email or f"{role}@example.com",
        password=PASSWORD,
        role=role,
        full_name=role.title(),
        all_branches=all_branches,
    )
    if branch is not None:
        user.branches.add(branch)
    return user


@pytest.fixture
def users(branch):
    """One user per role, all in `branch` (the admin sees all branches)."""
    result = {role: make_user(role, branch) for role in Role.values if role != Role.ADMIN}
    result[Role.ADMIN] = make_user(Role.ADMIN, all_branches=True)
    return result


@pytest.fixture
def operator(users):
    return users[Role.OPERATOR]


@pytest.fixture
def admin_user(users):
    return users[Role.ADMIN]


def run_queued_tasks() -> int:
    """Run what the worker would run — the task queue and the pollers (the outbox) — in this process
    and connection, until neither finds work; the number of tasks run.

    (`db_worker` closes the test's database connection, so tests call the tasks directly.)
    """
    from django_tasks_db.models import DBTaskResult

    from core.schedule import run_pollers

    ran = 0
    while True:
        ready = list(DBTaskResult.objects.filter(status="READY").order_by("enqueued_at"))
        if not ready and not run_pollers():
            return ran
        for result in ready:
            DBTaskResult.objects.filter(pk=result.pk).update(status="SUCCESSFUL")
            result.task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])
            ran += 1


def login_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class ApiClient:
    """JSON client with a Bearer token, mirroring how integrations call the API."""

    def __init__(self, user=None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            _token, raw = ApiToken.issue(user, name="test")
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"

    def _call(self, method, path, data=None, headers=None, **kwargs):
        extra = {**self.headers, **(headers or {})}
        if data is not None and method != "get":
            import json

            kwargs["content_type"] = "application/json"
            data = json.dumps(data, default=str)
        return getattr(self.client, method)(path, data, **extra, **kwargs)

    def get(self, path, params=None, **kw):
        return self._call("get", path, params, **kw)

    def post(self, path, data=None, **kw):
        return self._call("post", path, data if data is not None else {}, **kw)

    def patch(self, path, data=None, **kw):
        return self._call("patch", path, data if data is not None else {}, **kw)


@pytest.fixture
def api_as():
    return ApiClient


class _OneRequestAtATimeServer:
    """Mixed into Django's threaded live server: requests still arrive on their own threads (so the
    browser's parallel keep-alive connections never wait on each other), but the application handles
    one request at a time. With SQLite the test database is in memory and the live server's threads
    share the test's single connection; two HTMX requests of one page (badge, approvals count) saving
    the session together then fail with "database table is locked" (a 400 or 500 in `page.problems`)."""

    _app_lock = threading.Lock()

    def set_app(self, application):
        def one_at_a_time(environ, start_response):
            with self._app_lock:
                result = application(environ, start_response)
                try:
                    body = b"".join(result)  # streamed responses (CSV) read the database while iterated
                finally:
                    if hasattr(result, "close"):
                        result.close()
            return [body]

        super().set_app(one_at_a_time)


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, handling one request at a time (see _OneRequestAtATimeServer)."""
    from django.core.servers.basehttp import ThreadedWSGIServer
    from django.test import TransactionTestCase
    from django.test.testcases import LiveServerThread
    from pytest_django.live_server_helper import LiveServer

    addr = (
        request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    )
    server_class = type("OneRequestAtATimeWSGIServer", (_OneRequestAtATimeServer, ThreadedWSGIServer), {})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LiveServerThread, "server_class", server_class)
        server = LiveServer(addr)  # the server is created (and the class read) before this returns
        # A page left open polls the server (badge, approvals count) while pytest empties the database
        # after the test; on SQLite's shared in-memory database the two then lock each other. The
        # flush takes the application's lock, so it waits for the request in flight and no request
        # starts during it.
        flush = TransactionTestCase._fixture_teardown

        def flush_between_requests(self):
            with _OneRequestAtATimeServer._app_lock:
                flush(self)

        mp.setattr(TransactionTestCase, "_fixture_teardown", flush_between_requests)
        yield server
        server.stop()
