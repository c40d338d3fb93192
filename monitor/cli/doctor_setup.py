"""`sitwell doctor`'s set-up check: a cushion mounted or wired wrong, a full scale that does not fit.

With a sitwell running at the dashboard address, its own notices (/api/notices: what the
mounting check and the full-scale policy found on the live cushion). Without one, and with a
serial port set, a few seconds of the cushion's frames are read here through the same input
and full-scale policy the daemon uses: a --max-value the readings exceed and an inverted
cushion (its empty seat near full scale) show at once; how the cushion lies needs a sitter,
so that is left to the running daemon.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from monitor.config.settings import Settings

SAMPLE_S = 3.0
NET_TIMEOUT_S = 3.0


def _notices_from_daemon(settings: Settings) -> list[dict[str, Any]] | None:
    host, port = settings.dashboard.host, settings.dashboard.port
    if port == 0:
        return None
    name = f"[{host}]" if ":" in host else host
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{name}:{port}/api/notices", timeout=NET_TIMEOUT_S) as resp:
            body = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body if isinstance(body, list) else None


def _notices_from_port(settings: Settings) -> list[dict[str, Any]] | None:
    """Read the serial port for SAMPLE_S seconds (None: no frames came)."""
    from monitor.analysis.mounting_check import INVERTED_LEVEL
    from monitor.runtime.daemon import build_input

    frames: list[Any] = []
    inp = build_input(settings)
    inp.start(frames.append)
    try:
        end = time.monotonic() + SAMPLE_S
        while time.monotonic() < end:
            time.sleep(0.1)
    finally:
        inp.stop()
    out: list[dict[str, Any]] = []
    for h in inp.health():
        fs = h.get("full_scale") or {}
        if fs.get("warning"):
            out.append({"kind": "full_scale", "message": fs["warning"], "fix": fs.get("fix")})
    if not frames:
        return out or None
    import numpy as np

    levels = [float(np.median(f.cells)) / max(1, f.max_value) for f in frames]
    entry = settings.mounting.for_cushion(settings.cushion)
    if not entry.invert and float(np.median(levels)) >= INVERTED_LEVEL:
        out.append({"kind": "mounting", "message": f"the readings look inverted: the cushion reads"
                    f" {100 * float(np.median(levels)):.0f} % of full scale (an empty seat reads near 0)",
                    "fix": f"set [mounting.cushions.{settings.cushion}] invert = true (sitwell run --invert),"
                           " or press Apply on the dashboard"})
    return out


def check_setup(settings: Settings, check_cls: Any, ok: str, warn: str) -> Any:
    notices = _notices_from_daemon(settings)
    source = "the running sitwell"
    if notices is None and settings.input == "serial" and settings.serial.port:
        notices = _notices_from_port(settings)
        source = f"{SAMPLE_S:.0f} s of frames from {settings.serial.port}"
    if notices is None:
        return None
    if not notices:
        return check_cls("set-up", ok, f"no mounting or full-scale problem seen ({source})")
    detail = "\n".join(n["message"] for n in notices)
    fixes = "; ".join(n["fix"] for n in notices if n.get("fix"))
    return check_cls("set-up", warn, f"{detail}\n(seen by {source})", fixes)
