"""Seat analysis: calibrated load -> features -> occupancy and posture (docs/accuracy.md).

`SeatAnalyzer(device, config).process(frame)` / `.process_batch(t, cells)` is the entry point.
"""
