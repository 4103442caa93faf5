"""Webhook and inbound integration secrets are encrypted at rest with CUSTODY_SECRET_KEYS."""

import importlib

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.db import connection

from integrations import services
from integrations.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def stored(endpoint) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM integrations_webhookendpoint WHERE id = %s", [endpoint.pk.hex])
        return cursor.fetchone()[0]  # 32 hex digits: SQLite's uuid text, and valid uuid input for PostgreSQL


def make_endpoint(admin_user):
    return services.create_endpoint(admin_user, {"name": "Fleet", "url": "http://127.0.0.1:9/hook"})


def test_the_database_never_holds_the_secret_in_clear(admin_user, settings):
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "1"
    settings.CUSTODY_SECRET_KEYS = Fernet.generate_key().decode()
    endpoint, secret = make_endpoint(admin_user)
    raw = stored(endpoint)
    assert secret.startswith("whsec_") and secret not in raw and raw.startswith("gAAAAA")
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


def test_keys_rotate_without_losing_a_secret(admin_user, settings):
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "1"
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CUSTODY_SECRET_KEYS = old_key
    endpoint, secret = make_endpoint(admin_user)
    settings.CUSTODY_SECRET_KEYS = f"{new_key},{old_key}"  # new key first, old one still decrypts
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret
    assert services.reencrypt_secrets() == 1
    assert Fernet(new_key.encode()).decrypt(stored(endpoint).encode()).decode() == secret
    settings.CUSTODY_SECRET_KEYS = new_key  # the old key is retired
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


def test_the_data_migration_encrypts_secrets_stored_in_clear(admin_user, settings):
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "1"
    endpoint, _secret = make_endpoint(admin_user)
    with connection.cursor() as cursor:  # as a row written before encryption looked
        cursor.execute("UPDATE integrations_webhookendpoint SET secret = %s", ["whsec_legacy"])
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "whsec_legacy"  # still usable meanwhile
    migration = importlib.import_module("integrations.migrations.0003_encrypt_secrets")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.encrypt_stored_secrets(apps, editor)
    assert stored(endpoint).startswith("gAAAAA")
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "whsec_legacy"
