"""Set-up notices: a cushion mounted or wired wrong, a full scale that does not fit.

What the mounting check (analysis/mounting_check.py) and the full-scale policy
(codec/fullscale.py) found, put in words for a person, in one shape for every place that
shows it: the log, /healthz and /api/notices (the dashboard's notice line), `sitwell doctor`.

A notice: {"cushion", "kind": "mounting" | "full_scale", "level": "warning" | "info",
"message", "fix", "apply"}; `apply` is the mounting setting that fixes it (what the
dashboard's "Apply" button sends to POST /api/cushions/{cushion}/mounting), or None.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.calibration.mounting import Mounting, compose
from monitor.config.settings import MountingConfig

log = logging.getLogger(__name__)


def mounting_for(config: MountingConfig, cushion: str) -> Mounting:
    entry = config.for_cushion(cushion)
    return Mounting(entry.orientation, entry.mirror, entry.invert)


def suggested(engine: Any) -> Mounting | None:
    """The mounting setting that undoes what the check found (None: nothing to change)."""
    f = engine.mounting_check.finding
    if f.state != "fault":
        return None
    found = Mounting("normal", False, True) if f.inverted else Mounting(f.orientation or "normal")
    return compose(engine.mounting, found)


def _setting_words(cushion: str, m: Mounting) -> str:
    keys = [f'orientation = "{m.orientation}"']
    if m.mirror:
        keys.append("mirror = true")
    keys.append(f"invert = {'true' if m.invert else 'false'}")
    return f"[mounting.cushions.{cushion}] " + ", ".join(keys)


def mounting_notice(cushion: str, engine: Any) -> dict[str, Any] | None:
    f = engine.mounting_check.finding
    fix = suggested(engine)
    if f.state == "fault" and fix is not None:
        flags = (
            f"--orientation {fix.orientation}"
            + (" --invert" if fix.invert else "")
            + (" --mirror" if fix.mirror else "")
        )
        return {
            "cushion": cushion, "kind": "mounting", "level": "warning",
            "message": f"cushion {cushion}: {f.message}",
            "fix": f"press Apply on the dashboard, or set {_setting_words(cushion, fix)} in the config file"
                   f" (sitwell run {flags})",
            "apply": fix.as_json(),
        }
    if f.state == "unsure":
        return {"cushion": cushion, "kind": "mounting", "level": "info", "message": f"cushion {cushion}: {f.message}",
                "fix": "run `sitwell setup` to check the mounting with a few postures", "apply": None}
    return None


def full_scale_notice(health: Mapping[str, Any]) -> dict[str, Any] | None:
    fs = health.get("full_scale") or {}
    if not fs.get("warning"):
        return None
    return {"cushion": health.get("cushion"), "kind": "full_scale", "level": "warning", "message": fs["warning"],
            "fix": fs.get("fix"), "apply": None}


def collect_notices(engines: Mapping[str, Any], inputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = [n for h in inputs if (n := full_scale_notice(h)) is not None]
    out += [n for cushion, engine in sorted(engines.items()) if (n := mounting_notice(cushion, engine)) is not None]
    return out


def announce_finding(cushion: str, engine: Any) -> None:
    """Say once, in the log, what the mounting check decided."""
    check = engine.mounting_check
    check.changed = False
    notice = mounting_notice(cushion, engine)
    if notice is None:
        log.info("cushion %s: %s", cushion, check.finding.message)
    elif notice["level"] == "warning":
        log.warning("%s; fix: %s", notice["message"], notice["fix"])
    else:
        log.info("%s; %s", notice["message"], notice["fix"])
