"""Calibration: raw readings -> load in full-scale units, offsets removed, bad cells masked."""

from monitor.calibration.calibrator import Calibrator
from monitor.calibration.cells import NeighbourFill, fill_masked
from monitor.calibration.explicit import calibrate_from_frames

__all__ = ["Calibrator", "NeighbourFill", "calibrate_from_frames", "fill_masked"]
