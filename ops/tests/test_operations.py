"""Operating the system: `custody check`, health endpoints, the CLI, security headers."""

import os
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from config.cli import main

pytestmark = pytest.mark.django_db


def check_output(*args) -> str:
    out = StringIO()
    call_command("custody_check", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def production_settings(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = "a-long-random-production-secret-key-0123456789abcdef"
    settings.IS_POSTGRES = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.SESSION_COOKIE_SECURE = True
    settings.ALLOWED_HOSTS = ["custody.example.com"]
    settings.CUSTODY_SECRET_KEYS = "0nb1tY_NPpJpzx-CLqPtYjJMyZ3MBFkrZQhXgqA6lvg="
    return settings


def test_check_warns_about_debug_default_secret_and_sqlite(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = settings.INSECURE_DEFAULT_SECRET_KEY
    settings.IS_POSTGRES = False
    output = check_output()
    assert "WARNING: DEBUG is on" in output
    assert "WARNING: SECRET_KEY is the development default" in output
    assert "WARNING: The database is SQLite" in output
    assert "production-ready" not in output


def test_check_strict_fails_when_there_are_warnings(settings):
    settings.DEBUG = True
    with pytest.raises(SystemExit) as exc:
        check_output("--strict")
    assert exc.value.code == 1


def test_check_is_quiet_on_a_production_configuration(production_settings):
    output = check_output("--strict")
    assert "WARNING" not in output
    assert "production-ready" in output


def test_check_warns_about_wildcard_hosts_and_short_secret(production_settings):
    production_settings.ALLOWED_HOSTS = ["*"]
    production_settings.SECRET_KEY = "short"
    output = check_output()
    assert "ALLOWED_HOSTS contains '*'" in output
    assert "SECRET_KEY" in output


def test_healthz_answers_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_readyz_checks_database_and_storage(client, settings):
    settings.CUSTODY_READYZ_REQUIRE_WORKER = False
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["storage"] == "ok"


def test_readyz_reports_a_missing_worker_only_where_one_is_required(client, settings):
    settings.CUSTODY_READYZ_REQUIRE_WORKER = False  # development: no worker needed to be ready
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == "ok"

    settings.CUSTODY_READYZ_REQUIRE_WORKER = True  # production default
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"].startswith("worker:")


def test_readyz_is_200_with_a_fresh_worker_heartbeat(client, settings):
    from ops.models import WorkerHeartbeat

    settings.CUSTODY_READYZ_REQUIRE_WORKER = True
    WorkerHeartbeat.objects.create(worker_id="test-worker", hostname="test", pid=1)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "storage": "ok", "worker": "ok"}


def test_readyz_is_503_when_storage_is_not_writable(client, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the media directory should be")
    settings.MEDIA_ROOT = blocker / "media"  # unwritable even for root
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["storage"].startswith("storage:")
    assert body["checks"]["database"] == "ok"


def test_readyz_is_503_when_storage_save_fails(client, monkeypatch):
    from ops import health

    class BrokenStorage:
        def save(self, name, content):
            raise OSError("disk full")

        def delete(self, name):  # pragma: no cover - never reached
            pass

    monkeypatch.setattr(health, "default_storage", BrokenStorage())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "storage: OSError"


def test_readyz_is_503_when_the_database_is_down(client, monkeypatch):
    from ops import health

    class DownConnection:
        def cursor(self):
            raise ConnectionError("database went away")

    monkeypatch.setattr(health, "connection", DownConnection())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "database: ConnectionError"


def test_cli_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("serve", "migrate", "demo-data", "createuser", "check"):
        assert command in out


def test_serve_starts_gunicorn_with_background_audit_linking(monkeypatch):
    import gunicorn.app.wsgiapp

    started = []
    environ = {k: v for k, v in os.environ.items() if k != "CUSTODY_AUDIT_LINK_IN_BACKGROUND"}
    monkeypatch.setattr(os, "environ", environ)  # what serve sets stays in this test
    monkeypatch.setattr(gunicorn.app.wsgiapp, "run", lambda: started.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["custody"])
    assert main(["serve", "--port", "8123", "--workers", "3"]) == 0
    [argv] = started
    assert argv[:2] == ["gunicorn", "config.wsgi:application"]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert argv[argv.index("--workers") + 1] == "3"
    assert environ["CUSTODY_AUDIT_LINK_IN_BACKGROUND"] == "1"


def test_cli_check_runs_the_configuration_check(capsys, settings, monkeypatch):
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)  # see test_cli_alias_loads_demo_data
    settings.DEBUG = True
    assert main(["check"]) == 0
    assert "WARNING: DEBUG is on" in capsys.readouterr().out


def test_pages_carry_security_headers(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_login_page_has_no_inline_script(client):
    # script-src 'self' means an inline <script> would be blocked: keep scripts in static files.
    html = client.get("/accounts/login/").content.decode()
    for tag in html.split("<script")[1:]:
        assert "src=" in tag.split(">", 1)[0]


def test_check_warns_when_no_keys_encrypt_the_integration_secrets(production_settings):
    production_settings.CUSTODY_SECRET_KEYS = ""
    assert "CUSTODY_SECRET_KEYS is not set" in check_output()
