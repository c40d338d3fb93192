"""sitwell's monitor: cushion readings in, posture, sitting spells and reminders out.

One package per job, along the one-way data path (docs/architecture.md):
transport (bytes) -> codec (frames) -> calibration -> analysis -> tracker -> sinks, with
runtime (the running service), offline (analyze, report) and cli on top, and model,
config and mqtt as shared bases. Each package's `__init__` names what it exports.
"""

__all__: list[str] = []  # the faces are the packages below
