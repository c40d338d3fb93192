"""`sitwell sim` (also `python -m firmware_sim`): play a simulated cushion to a destination."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading

import click

from .faults import FaultSpecError, parse_faults
from .outputs import (
    FileStreamOutput,
    MqttOutput,
    Output,
    Player,
    PtyOutput,
    RecordingOutput,
    SerialOutput,
    ensure_parent,
    parse_host_port,
)
from .physics import MOUNTS, PhysicsSpecError, parse_physics
from .scenario import ScenarioError, builtin_names
from .simulator import Simulator

log = logging.getLogger("firmware_sim")

EPILOG = """\b
Destinations (pick one; default --out -):
  --out -|FILE[.jsonl[.gz]]  a recording (CONTRACT section 4) with ground-truth labels;
                             with --codec binary|text, raw wire bytes instead
  --pty [--link PATH]        a new pseudo-terminal; its slave path is printed on stdout
  --serial PORT [--baud N]   a serial port or pyserial URL
  --mqtt HOST[:PORT]         frames to sitwell/<cushion>/frames, status online/offline
\b
Pacing: files play as fast as possible, everything else in real time;
--speed X plays X times faster, --fast as fast as possible.
\b
Faults (--faults, comma separated; P is a probability per frame):
  crc=P  drop=P (per byte; MQTT: per message)  truncate=P  garbage=P  burst=P
  disconnect@T[:D] (at scenario second T, for D s, default 3)
  clockjump@T[:J]  (device clock jumps J s, default +30)
  e.g. --faults "crc=0.01,drop=0.001,garbage=0.01,disconnect@60"
\b
Real-cushion physics (--physics, comma separated; docs/simulator.md):
  real  every condition, drawn from --seed (default scenario then: session)
  NAME  one condition: placement, response, gain, crosstalk, creep, drift,
        traces, timing, people, cat, hardware
  -NAME that condition off (real,-crosstalk)   KEY=VALUE set one drawn parameter
  Mounting faults: --mount rotate90|rotate180|rotate270|mirror, --invert
\b
Examples:
  sitwell sim --scenario tour --out tour.jsonl.gz
  sitwell sim --scenario demo --pty --link /tmp/cushion --speed 60
  sitwell sim --scenario workday --seed 7 --mqtt localhost:1883 --cushion desk-1
  sitwell sim --physics real --seed 12 --out held-out-12.jsonl.gz
  sitwell sim --physics real,-crosstalk --seed 12 --rows 16 --cols 16 --out no-xt.jsonl.gz
"""


def _scenario_help() -> str:
    try:
        names = ", ".join(builtin_names())
    except Exception:  # a broken install should still show --help
        names = "workday, tour, ..."
    return f"Named scenario ({names}) or a scenario .toml file."


def _announce_pty(path: str) -> None:
    click.echo(path)
    sys.stdout.flush()  # whoever reads our stdout needs the path now, not at exit


@click.command("sim", epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--scenario", help=_scenario_help() + " Default: tour; with --physics: session.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same frames (person, day, noise).")
@click.option("--rows", type=click.IntRange(4, 64), help="Grid rows (default: the scenario's, else 16).")
@click.option("--cols", type=click.IntRange(4, 64), help="Grid columns (default: the scenario's, else 16).")
@click.option("--rate", "rate_hz", type=click.FloatRange(1, 100),
              help="Frames per second (default: scenario's, else 10).")
@click.option("--max-value", type=click.Choice(["9", "255", "1023", "4095", "65535"]),
              help="Sensor full scale (default 4095; 9: a digit cushion, one digit 0-9 a cell).")
@click.option("--physics", "physics_spec", metavar="SPEC",
              help="Real-cushion physics: real, or conditions to switch on/off; see below.")
@click.option("--mount", type=click.Choice(list(MOUNTS)),
              help="Mounting fault: the cushion turned a quarter / round / three quarters, or mirrored.")
@click.option("--invert", is_flag=True, default=None, help="Inverted wiring: lower reading = more pressure.")
@click.option("--noise", "noise_level", type=click.FloatRange(0, 10), default=1.0, show_default=True,
              help="Scale every sensor imperfection (noise, gain spread, dead cells, drift).")
@click.option("--weight", "weight_kg", type=click.FloatRange(30, 200),
              help="The sitter's weight in kg (default: the scenario's or random 45-120).")
@click.option("--offset", "offset_cm", metavar="X,Y", help="Where the sitter sits off-centre, cm (+x right, +y back).")
@click.option("--out", "out", metavar="-|FILE",
              help="Write a recording (or wire bytes with --codec) to a file or stdout.")
@click.option("--pty", "use_pty", is_flag=True, help="Create a pseudo-terminal and print its slave path.")
@click.option("--link", metavar="PATH", help="With --pty: keep a symlink at PATH pointing to the current pty.")
@click.option("--serial", "serial_port", metavar="PORT", help="Write to a serial port or pyserial URL.")
@click.option("--baud", type=int, default=115200, show_default=True, help="Serial speed.")
@click.option("--codec", type=click.Choice(["binary", "text", "digits", "json"]),
              help="Wire codec: binary (default for ports and MQTT), text, digits (one digit 0-9 per cell), "
                   "json (JSON frame lines / MQTT JSON).")
@click.option("--mqtt", "mqtt_host", metavar="HOST[:PORT]", help="Publish to an MQTT broker (default port 1883).")
@click.option("--topic-prefix", default="sitwell", show_default=True, help="MQTT topic prefix.")
@click.option("--mqtt-user", metavar="NAME", help="MQTT user name.")
@click.option("--mqtt-password", metavar="PW", envvar="SITWELL_SIM_MQTT_PASSWORD",
              help="MQTT password (better: the SITWELL_SIM_MQTT_PASSWORD environment variable).")
@click.option("--hello-every", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Ports, binary codec: repeat the hello packet every S scenario seconds (0: only at start).")
@click.option("--cushion", default="sim-1", show_default=True, help="Cushion id (hello packet, MQTT topic, header).")
@click.option("--speed", type=click.FloatRange(min=0.001), help="Play X times faster than real time.")
@click.option("--fast", is_flag=True, help="As fast as possible (default for files).")
@click.option("--faults", "faults_spec", metavar="SPEC", help="Inject faults; see below.")
@click.option("--duration", type=click.FloatRange(min=0.1), help="Stop after this many scenario seconds.")
@click.option("--no-labels", is_flag=True, help="Recordings without ground-truth labels.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default="INFO",
              show_default=True)
def sim(
    scenario, seed, rows, cols, rate_hz, max_value, physics_spec, mount, invert, noise_level, weight_kg, offset_cm,
    out, use_pty, link, serial_port, baud, codec, mqtt_host, topic_prefix, mqtt_user, mqtt_password, hello_every,
    cushion, speed, fast, faults_spec, duration, no_labels, log_level,
) -> None:
    """Play a simulated seat-pressure cushion: a scenario of a person sitting, standing and
    changing posture, as the cushion's firmware would send it."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=log_level, stream=sys.stderr, datefmt="%H:%M:%S",
                            format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    else:
        logging.getLogger().setLevel(log_level)
    chosen = [n for n, v in (("--out", out), ("--pty", use_pty), ("--serial", serial_port), ("--mqtt", mqtt_host)) if v]
    if len(chosen) > 1:
        raise click.UsageError(f"pick one destination, got {' and '.join(chosen)}")
    if link and not use_pty:
        raise click.UsageError("--link only goes with --pty")
    if speed is not None and fast:
        raise click.UsageError("--speed and --fast exclude each other")
    offset = None
    if offset_cm:
        try:
            x, y = (float(v) for v in offset_cm.split(","))
        except ValueError:
            raise click.BadParameter(f"{offset_cm!r} is not X,Y in cm", param_hint="--offset") from None
        if abs(x) > 10 or abs(y) > 10:
            raise click.BadParameter("each offset must be within +-10 cm", param_hint="--offset")
        offset = (x, y)
    try:
        faults = parse_faults(faults_spec)
    except FaultSpecError as e:
        raise click.BadParameter(str(e), param_hint="--faults") from None
    try:
        physics = parse_physics(physics_spec)
    except PhysicsSpecError as e:
        raise click.BadParameter(str(e), param_hint="--physics") from None
    if scenario is None:
        scenario = "session" if physics.on else "tour"
    try:
        simulator = Simulator(
            scenario, rows=rows, cols=cols, rate_hz=rate_hz, seed=seed,
            max_value=int(max_value) if max_value else None, cushion=cushion, duration_s=duration,
            noise_level=noise_level, weight_kg=weight_kg, offset_cm=offset,
            physics=physics_spec, mount=mount, invert=invert,
        )
    except (ScenarioError, ValueError) as e:
        raise click.BadParameter(str(e), param_hint="--scenario") from None

    output: Output
    if use_pty:
        output = PtyOutput(codec or "binary", link=link, announce=_announce_pty,
                           hello_every_s=hello_every)
    elif serial_port:
        output = SerialOutput(serial_port, baud, codec or "binary", hello_every_s=hello_every)
    elif mqtt_host:
        host, port = parse_host_port(mqtt_host)
        if codec in ("text", "digits"):
            raise click.BadParameter("MQTT carries binary packets or JSON frames", param_hint="--codec")
        output = MqttOutput(host, port, cushion, codec or "binary", prefix=topic_prefix,
                            username=mqtt_user, password=mqtt_password)
    else:
        target = out or "-"
        ensure_parent(target)
        if codec is None:
            output = RecordingOutput(target, cushion, labels=not no_labels)
        else:
            output = FileStreamOutput(target, codec)

    pace = None if fast else (speed if speed is not None else (1.0 if output.paced_by_default else None))
    player = Player(simulator, output, faults, speed=pace)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # not the main thread (e.g. embedded): Ctrl-C handling stays default
        with contextlib.suppress(ValueError):
            signal.signal(sig, lambda *_: stop.set())
    log.info(
        "scenario %r seed %d: %dx%d at %g Hz, %.0f s, person %.0f kg; %s",
        simulator.scenario.name, seed, simulator.rows, simulator.cols, simulator.rate_hz,
        simulator.duration_s, simulator.person.weight_kg,
        "as fast as possible" if pace is None else f"speed x{pace:g}",
    )
    if simulator.real:
        info = simulator.physics_info() or {}
        log.info("physics: %s; mount %s%s; drawn %s", ", ".join(info.get("conditions", [])) or "no condition",
                 info.get("mount"), ", inverted" if info.get("invert") else "", info.get("draw"))
    try:
        player.run(stop)
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): not an error; keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    except OSError as e:
        raise click.ClickException(f"{output.name}: {e}") from None
    if faults.any:
        click.echo(f"faults injected: {player.faults.summary()}", err=True)
