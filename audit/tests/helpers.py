from django.db import connection, transaction


def tamper(sql: str, params: list) -> None:
    """What someone with raw database access could do: on PostgreSQL only with the append-only
    trigger switched off (session_replication_role needs a superuser, as the test database has)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
