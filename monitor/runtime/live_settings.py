"""The settings the dashboard may change while the daemon runs (the rules, analysis and
mounting sections; a mounting change takes effect through RuntimeService.set_mounting).

A change is validated by the one Settings model (monitor/config/settings.py) before any of it
is applied, applied to every cushion's engine at once, and saved in the store so a restart
keeps it. SIGHUP takes the same sections from a freshly loaded config file.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from monitor.config.settings import (
    AnalysisConfig,
    MountingConfig,
    RulesConfig,
    Settings,
    format_validation_error,
)
from monitor.runtime.slots import Cushions
from monitor.sinks.store import Store

log = logging.getLogger(__name__)

SECTIONS = ("rules", "analysis", "mounting")


class LiveSettings:
    def __init__(self, config: Settings, store: Store, cushions: Cushions) -> None:
        self.config = config
        self.store = store
        self.cushions = cushions

    def apply_saved(self) -> None:
        """At start: what the dashboard saved last time (a bad saved patch is logged and ignored)."""
        saved = self.store.load_settings()
        if saved:
            try:
                self.validate(saved, apply=True)
                log.info("applied settings saved from the dashboard: %s", saved)
            except ValueError as exc:
                log.warning("ignoring saved dashboard settings: %s", exc)

    def validate(self, patch: dict[str, Any], apply: bool) -> dict[str, Any]:
        """The settings `patch` would give; applied to the config when `apply`. ValueError with
        a user message when it is not valid."""
        unknown = set(patch) - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown settings section(s): {', '.join(sorted(unknown))}")
        try:
            rules = RulesConfig(**{**self.config.rules.model_dump(), **(patch.get("rules") or {})})
            analysis = AnalysisConfig(**{**self.config.analysis.model_dump(), **(patch.get("analysis") or {})})
            mounting_patch = patch.get("mounting") or {}
            current = self.config.mounting.model_dump()
            mounting = MountingConfig(**{**current, **mounting_patch,
                                         "cushions": {**current["cushions"], **(mounting_patch.get("cushions") or {})}})
        except ValidationError as exc:
            raise ValueError(format_validation_error(exc).replace("config error: ", "")) from None
        if apply:
            self.config.rules = rules
            self.config.analysis = analysis
            self.config.mounting = mounting
        return {"rules": rules.model_dump(), "analysis": analysis.model_dump()}

    def current(self) -> dict[str, Any]:
        return {"rules": self.config.rules.model_dump(), "analysis": self.config.analysis.model_dump()}

    def update(self, patch: dict[str, Any]) -> dict[str, Any]:
        """From the dashboard: validate, apply to every engine, save."""
        result = self.validate(patch, apply=True)
        self._apply_to_engines()
        self.store.save_settings(patch)
        log.info("settings changed from the dashboard: %s", patch)
        return result

    def reload(self, fresh: Settings) -> None:
        """SIGHUP: take the rules and analysis sections of a freshly loaded config."""
        self.validate({"rules": fresh.rules.model_dump(), "analysis": fresh.analysis.model_dump()}, apply=True)
        self._apply_to_engines()
        logging.getLogger().setLevel(fresh.log_level)
        log.info("configuration reloaded (rules, analysis, log level)")

    def _apply_to_engines(self) -> None:
        for slot in self.cushions.values():
            slot.engine.tracker.update_rules(self.config.rules)
            slot.engine.analyzer.update_config(self.config.analysis)
