"""What `sitwell analyze` says about a recording's set-up: a cushion mounted or wired wrong
(analysis/mounting_check.py), frames dropped for readings above the header's full scale.

Keys are added to the summary only when there is something to say, so the summary of a sound
recording is what it always was:
`"mounting": {"state","orientation","inverted","message","fix","apply"}` and
`"warnings": [text, ...]`.
"""

from __future__ import annotations

from typing import Any

from monitor.runtime.mounting_notices import mounting_notice


def setup_warnings(cushion: str, engine: Any, max_value: int, drops: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    warnings: list[str] = []
    notice = mounting_notice(cushion, engine)
    if notice is not None:
        f = engine.mounting_check.finding
        out["mounting"] = {"state": f.state, "orientation": f.orientation, "inverted": f.inverted,
                           "message": notice["message"], "fix": notice["fix"], "apply": notice["apply"]}
        warnings.append(notice["message"])
    above = drops.get("out_of_range", 0)
    if above:
        warnings.append(f"{above} frame(s) dropped: readings above the header's max_value {max_value}; the"
                        " recording's max_value is wrong (the cushion's real full scale is higher)")
    if warnings:
        out["warnings"] = warnings
    return out
