"""Domain events, the way apps at every layer announce a change without importing the apps that react.

Services call `emit(type, data)` inside their transaction. The outbox (`integrations`) registers itself
as the sink in its AppConfig.ready, so webhooks and notifications follow from committed events and a
rolled-back change never sends one.
"""

from collections.abc import Callable

_sink: Callable[[str, dict], object] | None = None
_sink_many: Callable[[list[tuple[str, dict]]], list] | None = None


def register_sink(
    sink: Callable[[str, dict], object], many: Callable[[list[tuple[str, dict]]], list] | None = None
) -> None:
    """`sink(type, data)` writes one event; `many([(type, data), ...])`, when given, several at once."""
    global _sink, _sink_many
    _sink, _sink_many = sink, many


def emit(event_type: str, data: dict):
    if _sink is None:
        raise RuntimeError("No event outbox is installed (the integrations app registers it).")
    return _sink(event_type, data)


def emit_many(events: list[tuple[str, dict]]) -> list:
    """Several events of one change, in this order (one write when the sink can)."""
    if _sink is None:
        raise RuntimeError("No event outbox is installed (the integrations app registers it).")
    if _sink_many is None or len(events) < 2:
        return [_sink(event_type, data) for event_type, data in events]
    return _sink_many(events)
