"""Domain events, the way apps at every layer announce a change without importing the apps that react.

Services call `emit(type, data)` inside their transaction. The outbox (`integrations`) registers itself
as the sink in its AppConfig.ready, so webhooks and notifications follow from committed events and a
rolled-back change never sends one.
"""

from collections.abc import Callable

_sink: Callable[[str, dict], object] | None = None


def register_sink(sink: Callable[[str, dict], object]) -> None:
    global _sink
    _sink = sink


def emit(event_type: str, data: dict):
    if _sink is None:
        raise RuntimeError("No event outbox is installed (the integrations app registers it).")
    return _sink(event_type, data)
