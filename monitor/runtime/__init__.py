"""The running service: one cushion's engine, the daemon around all cushions, and what front ends may ask.

`monitor.runtime.daemon` (Daemon, whose `runtime` is a RuntimeService) and `monitor.runtime.server`
(serve) are imported from their modules: they pull in the inputs, the sinks and the web stack,
which `sitwell analyze` never needs.
"""

from monitor.runtime.engine import CushionEngine
from monitor.runtime.protocol import Runtime
from monitor.sinks.base import CushionStep

__all__ = ["CushionEngine", "CushionStep", "Runtime"]
