"""Seat analysis: calibrated load -> features -> occupancy and posture (docs/accuracy.md).

`SeatAnalyzer(device, config).process(frame)` / `.process_batch(t, cells)` is the entry point.
"""

from monitor.analysis.features import FeatureBatch, SeatGeometry
from monitor.analysis.occupancy import Occupancy
from monitor.analysis.posture import PostureClassifier
from monitor.analysis.seat import SeatAnalyzer
from monitor.analysis.sitbones import sit_bone_loads

__all__ = ["FeatureBatch", "Occupancy", "PostureClassifier", "SeatAnalyzer", "SeatGeometry", "sit_bone_loads"]
