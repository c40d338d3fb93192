"""firmware_sim: a simulated seat-pressure cushion that speaks sitwell's wire formats.

It plays the part of a real cushion's firmware (docs/simulator.md): a body model of a
person sitting in the postures of CONTRACT section 5, a sensor model with the flaws of a
real mat, scripted or seeded-random scenarios, and outputs to files, serial ports, ptys
and MQTT. It is an independent device: nothing here imports the monitor.

With real-cushion physics on (physics.py: a tilted, shifted cushion, a power-law response,
crosstalk, creep, drift, broken traces, frame jitter, varied people, a cat) it plays the
part of a cheap or clinical mat instead, each condition switchable on its own.

Public API:
    Simulator(scenario, rows=16, cols=16, rate_hz=10, seed=1, max_value=4095,
              physics=None | "real" | "real,-crosstalk" | PhysicsSpec, mount=None, invert=None)
        .frames() -> Iterator[SimFrame(t, seq, cells, label)], .duration_s, .device_info(),
        .physics_info()
    load_scenario(name_or_path) -> Scenario
    write_recording(sim, path_or_file, cushion="sim-1", gz=None) -> frame count
"""

from .body import Person, Pose, pose_for
from .physics import CONDITIONS, MOUNTS, PhysicsSpec, PhysicsSpecError, parse_physics
from .recording import write_recording
from .scenario import Scenario, ScenarioError, Segment, builtin_names, load_scenario
from .sensor import SensorParams
from .simulator import SimFrame, Simulator

__all__ = [
    "CONDITIONS",
    "MOUNTS",
    "PhysicsSpec",
    "PhysicsSpecError",
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
    "parse_physics",
    "pose_for",
    "write_recording",
]
