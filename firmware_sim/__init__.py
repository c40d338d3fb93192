"""firmware_sim: a simulated seat-pressure cushion that speaks sitwell's wire formats.

It plays the part of a real cushion's firmware (docs/simulator.md): a body model of a
person sitting in the postures of CONTRACT section 5, a sensor model with the flaws of a
real mat, scripted or seeded-random scenarios, and outputs to files, serial ports, ptys
and MQTT. It is an independent device: nothing here imports the monitor.

Public API:
    Simulator(scenario, rows=16, cols=16, rate_hz=10, seed=1, max_value=4095)
        .frames() -> Iterator[SimFrame(t, seq, cells, label)], .duration_s, .device_info()
    load_scenario(name_or_path) -> Scenario
    write_recording(sim, path_or_file, cushion="sim-1", gz=None) -> frame count
"""

from .body import Person, Pose, pose_for
from .recording import write_recording
from .scenario import Scenario, ScenarioError, Segment, builtin_names, load_scenario
from .sensor import SensorParams
from .simulator import SimFrame, Simulator

__all__ = [
    "Person",
    "Pose",
    "Scenario",
    "ScenarioError",
    "Segment",
    "SensorParams",
    "SimFrame",
    "Simulator",
    "builtin_names",
    "load_scenario",
    "pose_for",
    "write_recording",
]
