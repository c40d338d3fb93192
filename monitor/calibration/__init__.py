"""Calibration: raw readings -> load in full-scale units, offsets removed, bad cells masked."""

from monitor.calibration.calibrator import Calibrator, NeighbourFill, calibrate_from_frames, fill_masked

__all__ = ["Calibrator", "NeighbourFill", "calibrate_from_frames", "fill_masked"]
