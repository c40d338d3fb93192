"""How the running daemon holds the journal: the book on the store's file (None when the
journal is off), and the MQTT command topic / Home Assistant entity when a broker is set."""

from __future__ import annotations

from typing import Any

from monitor.config.settings import Settings
from monitor.journal.book import JournalBook


def open_journal(settings: Settings) -> JournalBook | None:
    if not settings.journal.enabled or str(settings.store.db) == ":memory:":
        return None
    return JournalBook(settings.store.db)


def start_journal_mqtt(settings: Settings, journal: JournalBook | None) -> Any:
    """Pain over MQTT / Home Assistant (mqtt_entity.py): only with a broker configured."""
    if journal is None or not settings.mqtt.host or not settings.journal.mqtt_entity:
        return None
    from monitor.journal.mqtt_entity import JournalMqtt

    entity = JournalMqtt(settings.mqtt, journal)
    entity.start()
    return entity
