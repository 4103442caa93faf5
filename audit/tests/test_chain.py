"""The audit chain: every stored field is covered, old entries keep their format, nothing rewrites it."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import services as audit
from audit.context import acting_as
from audit.models import AuditEntry
from audit.tests.helpers import tamper

pytestmark = pytest.mark.django_db


def write_some(user, n=4):
    with acting_as(user, "api", ip="127.0.0.1"):
        for i in range(n):
            audit.record("thing.updated", object_type="thing", object_id=str(i), changes={"n": [i, i + 1]})


TAMPERINGS = [
    ("ip", "'10.9.9.9'"),
    ("object_repr", "'forged'"),
    ("custody_id", "'6f1c2b9e-0000-4000-8000-000000000001'"),
    ("request_id", "'forged'"),
    ("actor_email", "'someone@example.com'"),
    ("actor_id", "NULL"),
    ("source", "'system'"),
    ("action", "'thing.deleted'"),
    ("object_type", "'other'"),
    ("object_id", "'999'"),
    ("message", "'forged'"),
    ("hash_version", "1"),
]


@pytest.mark.parametrize("column,value", TAMPERINGS)
def test_a_change_to_any_stored_field_breaks_the_chain(admin_user, column, value):
    write_some(admin_user)
    assert audit.verify_chain() == []
    target = AuditEntry.objects.order_by("chain_seq")[1]
    tamper(f"UPDATE audit_auditentry SET {column} = {value} WHERE id = %s", [target.pk])
    assert audit.verify_chain() == [target.pk]


def test_moving_an_entry_in_time_breaks_the_chain(admin_user):
    write_some(admin_user)
    audit.link_pending(wait=True)
    target = AuditEntry.objects.order_by("chain_seq")[2]
    tamper("UPDATE audit_auditentry SET at = %s WHERE id = %s", [timezone.now(), target.pk])
    assert audit.verify_chain() == [target.pk]


def test_entries_of_the_old_format_keep_verifying_and_the_chain_continues_from_them(admin_user):
    # Two entries as they were written before hash format 2 (chained at insert, part of the fields).
    prev = ""
    for seq in (1, 2):
        old = AuditEntry(
            at=timezone.now(),
            actor_email="old@example.com",
            action="thing.created",
            object_type="thing",
            object_id=str(seq),
            changes={"a": [None, seq]},
            prev_hash=prev,
            hash_version=1,
            chain_seq=seq,
        )
        old.at = old.at.replace(microsecond=0)
        old.entry_hash = audit._digest_v1(old)
        old.save()
        prev = old.entry_hash
    write_some(admin_user, 2)
    assert audit.verify_chain() == []
    chain = list(
        AuditEntry.objects.order_by("chain_seq").values_list("hash_version", "prev_hash", "entry_hash")
    )
    assert [v for v, _p, _h in chain] == [1, 1, 2, 2]
    assert chain[2][1] == chain[1][2]  # the first new-format entry links to the last old one


def test_a_rolled_back_write_leaves_no_entry_and_no_gap_in_the_chain(admin_user):
    write_some(admin_user, 1)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit.record("thing.updated", object_type="thing", object_id="x")
        1 / 0  # noqa: B018
    write_some(admin_user, 1)
    assert audit.verify_chain() == []
    assert list(AuditEntry.objects.order_by("chain_seq").values_list("chain_seq", flat=True)) == [1, 2]


@pytest.mark.postgres
def test_postgresql_refuses_rewriting_or_deleting_an_entry_even_with_raw_sql(admin_user):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    write_some(admin_user, 2)
    audit.link_pending(wait=True)
    entry = AuditEntry.objects.order_by("chain_seq").first()
    for sql in (
        "UPDATE audit_auditentry SET message = 'edited' WHERE id = %s",
        "UPDATE audit_auditentry SET entry_hash = md5('x') || md5('y') WHERE id = %s",  # re-link
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(sql, [entry.pk])
    assert audit.verify_chain() == []


@pytest.mark.postgres
def test_postgresql_lets_an_unlinked_entry_be_linked_but_not_altered_while_linking(admin_user):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    write_some(admin_user, 1)
    entry = AuditEntry.objects.get()
    assert entry.entry_hash is None  # on_commit never fires inside the test's transaction
    sneaky = "UPDATE audit_auditentry SET chain_seq = 1, entry_hash = 'x', message = 'sneaky' WHERE id = %s"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
        c.execute(sneaky, [entry.pk])
    assert audit.link_pending(wait=True) == 1
    assert audit.verify_chain() == []


def test_a_transaction_links_its_entries_once_after_commit(admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        write_some(admin_user, 3)
        audit.record_many(
            [audit.entry("thing.updated", object_type="thing", object_id=str(i)) for i in (3, 4)]
        )
    assert callbacks == [audit.link_pending]  # one linker for the five entries, not one each
    assert list(AuditEntry.objects.order_by("chain_seq").values_list("object_id", flat=True)) == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]
    assert AuditEntry.objects.filter(entry_hash__isnull=True).count() == 0
    assert audit.verify_chain() == []


def test_an_entry_after_a_rolled_back_savepoint_is_still_linked(
    admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            audit.record("thing.updated", object_type="thing", object_id="gone")
            1 / 0  # noqa: B018
        audit.record("thing.updated", object_type="thing", object_id="kept")
    assert callbacks == [audit.link_pending]
    assert list(AuditEntry.objects.values_list("object_id", "chain_seq")) == [("kept", 1)]
    assert audit.verify_chain() == []


def test_the_linkers_hand_written_read_answers_what_the_orm_queries_do(admin_user, branch):
    """_pending (core.rawsql) against the querysets it replaces, every field set, empty chain or not."""
    import uuid

    def record_one(message):
        with acting_as(admin_user, "web", ip="10.1.2.3"):
            audit.record(
                "thing.updated",
                branch,
                custody_id=uuid.uuid4(),
                changes={"when": [None, timezone.now()], "n": [1, 2], "nested": {"a": [1, "x"]}},
                message=message,
            )

    def orm_rows():
        return list(
            AuditEntry.objects.filter(entry_hash__isnull=True).order_by("id").values(*audit._V2_FIELDS)
        )

    assert audit._pending(connection) == ([], (0, ""))
    write_some(admin_user, 2)
    record_one("with everything")
    assert audit._pending(connection) == (orm_rows(), audit._head()) == (orm_rows(), (0, ""))
    audit.link_pending(wait=True)
    assert audit._pending(connection) == ([], (0, ""))
    record_one("after the first three")
    rows, head = audit._pending(connection)
    assert (rows, head) == (orm_rows(), audit._head())
    assert head[0] == 3 and len(head[1]) == 64
    assert audit.verify_chain() == []


def test_the_linker_writes_a_batchs_links_in_one_update(admin_user, django_assert_num_queries):
    write_some(admin_user, 2)
    audit.link_pending(wait=True)  # the chain has a head to continue from
    write_some(admin_user, 5)
    # Its savepoint, the lock (PostgreSQL), the pending entries with the head, one UPDATE for the five
    # (not one per entry: an executemany shows as "5 times: UPDATE ..."), the savepoint's release.
    with django_assert_num_queries(5 if connection.vendor == "postgresql" else 4) as queries:
        assert audit.link_pending(wait=True) == 5
    updates = [q["sql"] for q in queries.captured_queries if "UPDATE" in q["sql"]]
    assert len(updates) == 1 and " times: " not in updates[0], updates
    linked = list(AuditEntry.objects.order_by("chain_seq").values_list("chain_seq", "object_id"))
    assert linked == [(1, "0"), (2, "1"), (3, "0"), (4, "1"), (5, "2"), (6, "3"), (7, "4")]
    assert audit.verify_chain() == []


def _wait_until(condition, seconds: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True)
def test_in_the_background_a_commit_ends_the_write_and_a_thread_links_it(admin_user, settings):
    """CUSTODY_AUDIT_LINK_IN_BACKGROUND (custody serve's workers): the committing thread runs no linking
    statement; the process's linker thread links every committed entry moments later."""
    from django.test.utils import CaptureQueriesContext

    settings.CUSTODY_AUDIT_LINK_IN_BACKGROUND = True
    with CaptureQueriesContext(connection) as committing_thread:
        for batch in range(3):
            with transaction.atomic():
                write_some(admin_user, 2)
                audit.record("thing.updated", object_type="thing", object_id=f"batch-{batch}")
    statements = [q["sql"] for q in committing_thread.captured_queries]
    assert [sql for sql in statements if sql.startswith("INSERT")]  # the entries were written here
    linking = [sql for sql in statements if "entry_hash" in sql and not sql.startswith("INSERT")]
    assert linking == []
    assert _wait_until(lambda: AuditEntry.objects.filter(entry_hash__isnull=False).count() == 9)
    assert audit.verify_chain() == []
    assert sorted(AuditEntry.objects.values_list("chain_seq", flat=True)) == list(range(1, 10))


@pytest.mark.django_db(transaction=True)
def test_the_background_linker_survives_a_failed_round(admin_user, settings, monkeypatch):
    settings.CUSTODY_AUDIT_LINK_IN_BACKGROUND = True
    real = audit._link_batch
    failures = []

    def failing_once(wait):
        if not failures:
            failures.append(wait)
            raise RuntimeError("the database went away")
        return real(wait)

    monkeypatch.setattr(audit, "_link_batch", failing_once)
    with transaction.atomic():
        write_some(admin_user, 1)
    assert _wait_until(lambda: failures)
    assert AuditEntry.objects.filter(entry_hash__isnull=True).count() == 1  # left for the next round
    with transaction.atomic():
        write_some(admin_user, 1)  # the next commit wakes the same thread for another round
    assert _wait_until(lambda: AuditEntry.objects.filter(entry_hash__isnull=False).count() == 2)
    assert failures == [False]
    assert audit.verify_chain() == []
