"""firmware_sim outputs: recordings, the CLI, a real pty read by pyserial, a serial port, MQTT."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

from firmware_sim import Scenario, Segment, Simulator, load_scenario, write_recording
from firmware_sim.cli import sim as sim_command
from firmware_sim.faults import parse_faults
from firmware_sim.outputs import MqttOutput, Player, PtyOutput, SerialOutput
from monitor.codec.binary import BinaryDecoder, FramePacket, HelloPacket, decode_packet
from monitor.codec.recording import RecordingReader
from monitor.model import DropCounter

PY = sys.executable


def short(seconds: float = 6.0) -> Scenario:
    return Scenario(
        "short", segments=[Segment("away", 2), Segment("sit", seconds, "lean_left")], person={"weight_kg": 70}
    )


@pytest.mark.parametrize("name", ["rec.jsonl", "rec.jsonl.gz"])
def test_write_recording_reads_back_with_the_monitor(tmp_path, name):
    sim = Simulator(short(), rows=12, cols=20, rate_hz=10, seed=1)
    path = tmp_path / name
    assert write_recording(sim, path, cushion="desk-2") == 80
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    text = gzip.decompress(raw).decode() if name.endswith(".gz") else raw.decode()
    lines = text.splitlines()
    head = json.loads(lines[0])
    assert head["type"] == "header" and head["format"] == "sitwell-recording" and head["version"] == 1
    assert (head["cushion"], head["rows"], head["cols"], head["max_value"], head["rate_hz"]) == (
        "desk-2",
        12,
        20,
        4095,
        10.0,
    )
    first = json.loads(lines[1])
    assert first["label"] == {"occupied": False, "posture": "empty", "left_share": None, "seg": "away", "seg_t": 0.0}
    assert json.loads(lines[-1])["label"]["posture"] == "lean_left"
    expected = list(sim.frames())
    with RecordingReader(path) as reader:
        frames = list(reader)
    assert len(frames) == 80
    assert all(
        np.array_equal(f.cells, e.cells) and f.t == pytest.approx(e.t) for f, e in zip(frames, expected, strict=True)
    )


def test_write_recording_to_open_files():
    sim = Simulator(short(2), rows=4, cols=4, seed=1)
    buf = io.BytesIO()
    assert write_recording(sim, buf, gz=True) == 40
    assert gzip.decompress(buf.getvalue()).decode().count("\n") == 41
    sbuf = io.StringIO()
    write_recording(sim, sbuf)
    assert sbuf.getvalue() == gzip.decompress(buf.getvalue()).decode()


def test_a_day_is_written_quickly(tmp_path):
    """As fast as possible: 10 minutes of 16x16 at 10 Hz in a few seconds (even on a busy machine)."""
    sim = Simulator("workday", seed=2, duration_s=600)
    t0 = time.perf_counter()
    n = write_recording(sim, tmp_path / "day.jsonl.gz")
    rate = n / (time.perf_counter() - t0)
    assert n == 6000
    assert rate > 600, f"only {rate:.0f} frames/s"


def test_builtin_scenarios():
    names = {"workday", "long-spell", "fidgety", "tour", "demo"}
    for name in names:
        assert load_scenario(name).name == name
    tour = Simulator("tour")
    seated = [s.posture for s in tour.segments if s.kind == "sit"]
    assert set(seated) == {"upright", "lean_left", "lean_right", "cross_left", "cross_right", "slouch", "forward"}
    assert tour.segments[-2].kind == "object"
    demo = Simulator("demo")
    sitting = sum(s.duration_s for s in demo.segments if s.kind == "sit")
    assert 25 * 60 < sitting < 29 * 60
    long = Simulator("long-spell")
    assert sum(s.duration_s for s in long.segments if s.kind == "sit") >= 30 * 60


def test_workday_is_a_seeded_random_day():
    a, b, c = (Simulator("workday", seed=s) for s in (1, 1, 2))
    assert a.segments == b.segments and a.person == b.person
    assert a.segments != c.segments
    assert 7.5 * 3600 < a.duration_s < 8.6 * 3600
    # spells (sitting with stands under a minute) of 15-50 min, broken by breaks
    spells, cur = [], 0.0
    for s in a.segments:
        if s.kind in ("sit", "stand"):
            cur += s.duration_s
        elif cur:
            spells.append(cur)
            cur = 0.0
    assert len(spells) >= 6
    assert all(60 <= x <= 51 * 60 for x in spells)
    assert sum(x >= 15 * 60 for x in spells) >= len(spells) - 1  # only the last may be cut short
    assert len({s.posture for s in a.segments if s.kind == "sit"}) >= 5


def test_scenario_files_and_errors(tmp_path):
    good = tmp_path / "mine.toml"
    good.write_text(
        'name = "mine"\n[person]\nweight_kg = 90\noffset_cm = [2, -1]\n[sensor]\nrows = 8\ncols = 10\nrate_hz = 5\n'
        '[[segments]]\nposture = "slouch"\nduration_s = 4\nintensity = 1.2\n'
        '[[segments]]\nkind = "object"\nduration_s = 2\nobject_kg = 2\n'
    )
    sim = Simulator(str(good))
    assert (sim.rows, sim.cols, sim.rate_hz, sim.person.weight_kg) == (8, 10, 5.0, 90.0)
    assert [f.label["posture"] for f in sim.frames()] == ["slouch"] * 20 + ["empty"] * 10
    from firmware_sim import ScenarioError

    for body, words in [
        ('[[segments]]\nposture = "lounging"\nduration_s = 3\n', "posture"),
        ("[[segments]]\nposture = \"upright\"\n", "duration_s"),
        ('[[segments]]\nkind = "object"\nduration_s = 3\nobject_kg = 8\n', "object_kg"),
        ('colour = "red"\n[[segments]]\nduration_s = 3\n', "colour"),
        ("[[segments]\n", "TOML"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(body)
        with pytest.raises(ScenarioError, match=words):
            load_scenario(str(bad))
    with pytest.raises(ScenarioError, match="unknown scenario"):
        load_scenario("no-such-scenario")


def test_cli_help_and_errors():
    runner = CliRunner()
    res = runner.invoke(sim_command, ["--help"])
    assert res.exit_code == 0
    for opt in (
        "--scenario",
        "--seed",
        "--rows",
        "--cols",
        "--rate",
        "--max-value",
        "--out",
        "--pty",
        "--serial",
        "--baud",
        "--codec",
        "--mqtt",
        "--cushion",
        "--speed",
        "--fast",
        "--faults",
        "--duration",
        "disconnect@",
    ):
        assert opt in res.output
    assert runner.invoke(sim_command, ["--faults", "crc=7"]).exit_code == 2
    assert runner.invoke(sim_command, ["--scenario", "nope"]).exit_code == 2
    assert runner.invoke(sim_command, ["--out", "x", "--pty"]).exit_code == 2
    assert runner.invoke(sim_command, ["--offset", "3"]).exit_code == 2


def test_cli_writes_a_recording(tmp_path):
    out = tmp_path / "sub" / "t.jsonl.gz"
    res = CliRunner().invoke(
        sim_command,
        [
            "--scenario",
            "tour",
            "--rows",
            "8",
            "--cols",
            "8",
            "--rate",
            "5",
            "--duration",
            "30",
            "--out",
            str(out),
            "--cushion",
            "c-3",
            "--weight",
            "110",
            "--offset",
            "-2,1.5",
            "--seed",
            "4",
        ],
    )
    assert res.exit_code == 0, res.output
    with gzip.open(out, "rt") as fh:
        lines = fh.read().splitlines()
    assert json.loads(lines[0])["cushion"] == "c-3" and len(lines) == 151
    same = Simulator("tour", rows=8, cols=8, rate_hz=5, seed=4, duration_s=30, weight_kg=110, offset_cm=(-2, 1.5))
    assert [json.loads(line)["cells"] for line in lines[1:]] == [f.cells.tolist() for f in same.frames()]


def test_python_m_prints_text_frames():
    res = subprocess.run(
        [
            PY,
            "-m",
            "firmware_sim",
            "--rows",
            "6",
            "--cols",
            "5",
            "--duration",
            "3",
            "--codec",
            "text",
            "--out",
            "-",
            "--fast",
        ],
        capture_output=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stdout.decode().splitlines() if not line.startswith("#")]
    assert len(lines) == 30 and all(len(line.split(",")) == 30 for line in lines)


def _read_until(ser, dec: BinaryDecoder, want: int, timeout: float) -> list:
    got: list = []
    end = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < end:
        got += dec.feed(ser.read(4096))
    return got


@pytest.mark.serial
def test_pty_read_by_pyserial():
    import serial

    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "firmware_sim",
            "--scenario",
            "tour",
            "--pty",
            "--speed",
            "10",
            "--duration",
            "60",
            "--rows",
            "8",
            "--cols",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        path = proc.stdout.readline().decode().strip()
        assert path.startswith("/dev/pts/")
        with serial.Serial(path, 115200, timeout=0.2) as ser:
            dec = BinaryDecoder(DropCounter())
            packets = _read_until(ser, dec, 130, 20)
        frames = [p for p in packets if isinstance(p, FramePacket)]
        assert len(frames) >= 120
        # the hello comes again every 10 s, so a reader that opened late learns the device too
        hellos = [p for p in packets if isinstance(p, HelloPacket)]
        assert hellos and all(h.raw["rows"] == 8 and h.raw["max_value"] == 4095 for h in hellos)
        assert any(h.seq > 0 for h in hellos)
        seqs = [f.seq for f in frames]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # in order, none lost
        assert all(f.cells.shape == (8, 8) for f in frames)
        assert dec.drops.total <= 1  # at most the packet we joined in the middle of
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.serial
def test_pty_disconnect_and_reconnect_behind_a_link(tmp_path):
    import serial

    link = tmp_path / "cushion"
    sim = Simulator("tour", rows=8, cols=8, rate_hz=10, seed=1, duration_s=30)
    paths: list[str] = []
    out = PtyOutput("binary", link=str(link), announce=paths.append)
    player = Player(sim, out, parse_faults("disconnect@6:1"), speed=4.0)
    th = threading.Thread(target=player.run, daemon=True)
    th.start()
    try:
        deadline = time.monotonic() + 5
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        ser = serial.Serial(str(link), 115200, timeout=0.1)
        dec = BinaryDecoder()
        got, error = [], None
        end = time.monotonic() + 8
        while time.monotonic() < end:
            try:
                got += dec.feed(ser.read(4096))
            except (serial.SerialException, OSError) as e:  # the cable was pulled
                error = e
                break
        ser.close()
        assert error is not None and any(isinstance(p, FramePacket) for p in got)
        # the device comes back behind the same link, announcing itself again
        deadline = time.monotonic() + 5
        while len(paths) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(paths) == 2 and os.path.realpath(link) == paths[1]
        with serial.Serial(str(link), 115200, timeout=0.2) as ser2:
            more = _read_until(ser2, BinaryDecoder(), 10, 5)
        frames = [p for p in more if isinstance(p, FramePacket)]
        assert len(frames) >= 5 and min(f.seq for f in frames) >= 70  # frames of 6-7 s were lost
    finally:
        th.join(15)
    assert player.faults.counts["disconnect"] == 1 and player.skipped == 10
    assert not link.exists()  # removed at the end


@pytest.mark.serial
def test_serial_output_into_a_port(pty_pair):
    """--serial writes to any port pyserial opens; here the slave end of a real pty."""
    sim = Simulator("tour", rows=4, cols=6, rate_hz=20, seed=1, duration_s=3)
    player = Player(sim, SerialOutput(str(pty_pair.path), 115200, "binary"), speed=None)
    th = threading.Thread(target=player.run, daemon=True)
    th.start()
    dec, got = BinaryDecoder(), []
    import select

    end = time.monotonic() + 10
    while time.monotonic() < end and len(got) < 61:
        if select.select([pty_pair.master_fd], [], [], 0.2)[0]:
            got += dec.feed(os.read(pty_pair.master_fd, 65536))
    th.join(10)
    assert isinstance(got[0], HelloPacket)
    assert [p.seq for p in got[1:]] == list(range(60))


def _subscriber(broker, topic: str, on_message):
    """A paho client subscribed to `topic` (SUBACK received) calling on_message(msg)."""
    import paho.mqtt.client as mqtt

    subscribed = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.on_message = lambda cl, u, m: on_message(m)
    c.on_subscribe = lambda *a: subscribed.set()
    c.on_connect = lambda cl, *a: cl.subscribe(topic, qos=1)
    c.connect(broker.host, broker.port)
    c.loop_start()
    assert subscribed.wait(10), "no SUBACK from the broker"
    return c


@pytest.mark.mqtt
def test_mqtt_frames_status_and_will(mosquitto):
    received: list[tuple[str, bytes, bool]] = []
    sub = _subscriber(mosquitto, "sitwell/desk-9/#", lambda m: received.append((m.topic, m.payload, m.retain)))
    try:
        sim = Simulator("tour", rows=8, cols=8, rate_hz=10, seed=1, duration_s=8)
        out = MqttOutput(mosquitto.host, mosquitto.port, "desk-9", "binary")
        player = Player(sim, out, parse_faults("disconnect@3:1"), speed=4.0)
        player.run()
        time.sleep(0.5)
    finally:
        sub.loop_stop()
        sub.disconnect()
    status = [p.decode() for t, p, _ in received if t.endswith("/status")]
    # online, offline by last will on the dropped link, online again, offline at the end
    assert status == ["online", "offline", "online", "offline"]
    packets = [decode_packet(p) for t, p, _ in received if t.endswith("/frames")]
    # a hello on every connection, before its frames (the monitor learns grid and full scale)
    assert isinstance(packets[0], HelloPacket) and packets[0].info.rows == 8
    assert sum(isinstance(p, HelloPacket) for p in packets) == 2
    frames = [p for p in packets if isinstance(p, FramePacket)]
    # the 10 frames of the outage are lost, and maybe one or two still in the client's
    # buffer when the link dropped (QoS 0, like a real device)
    assert sim.n_frames - 13 <= len(frames) <= sim.n_frames - 10
    ref = {f.seq: f.cells for f in sim.frames()}
    assert all(np.array_equal(ref[f.seq], f.cells) for f in frames)
    # a late subscriber sees the retained status
    late: list[tuple[bytes, bool]] = []
    c = _subscriber(mosquitto, "sitwell/desk-9/status", lambda m: late.append((m.payload, m.retain)))
    deadline = time.monotonic() + 5
    while not late and time.monotonic() < deadline:
        time.sleep(0.05)
    c.loop_stop()
    c.disconnect()
    assert late == [(b"offline", True)]


@pytest.mark.mqtt
def test_mqtt_json_frames_via_cli(mosquitto):
    got: list[dict] = []
    sub = _subscriber(mosquitto, "sitwell/j-1/frames", lambda m: got.append(json.loads(m.payload)))
    res = subprocess.run(
        [
            PY,
            "-m",
            "firmware_sim",
            "--mqtt",
            f"{mosquitto.host}:{mosquitto.port}",
            "--cushion",
            "j-1",
            "--codec",
            "json",
            "--rows",
            "4",
            "--cols",
            "4",
            "--duration",
            "2",
            "--fast",
        ],
        capture_output=True,
        timeout=60,
    )
    deadline = time.monotonic() + 5
    while len(got) < 21 and time.monotonic() < deadline:
        time.sleep(0.05)
    sub.loop_stop()
    sub.disconnect()
    assert res.returncode == 0, res.stderr
    # the hello first: a recording header object, the JSON form of a hello
    assert got[0]["type"] == "header" and (got[0]["rows"], got[0]["cols"]) == (4, 4)
    got = got[1:]
    assert len(got) == 20
    assert got[3]["t"] == pytest.approx(0.3) and len(got[3]["cells"]) == 4 and "label" in got[3]


@pytest.mark.mqtt
def test_mqtt_credentials(mosquitto_factory):
    broker = mosquitto_factory(users={"cushion": "s3cret"})
    got: list[bytes] = []
    import paho.mqtt.client as mqtt

    subscribed = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.username_pw_set("cushion", "s3cret")
    sub.on_message = lambda c, u, m: got.append(m.payload)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_connect = lambda c, *a: c.subscribe("sitwell/pw-1/frames")
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        base = [PY, "-m", "firmware_sim", "--mqtt", f"{broker.host}:{broker.port}", "--cushion", "pw-1",
                "--rows", "4", "--cols", "4", "--duration", "1", "--fast", "--mqtt-user", "cushion"]
        bad = subprocess.run(
            base, capture_output=True, timeout=60, env=os.environ | {"SITWELL_SIM_MQTT_PASSWORD": "wrong"}
        )
        assert bad.returncode != 0 and b"did not accept" in bad.stderr
        good = subprocess.run(
            base, capture_output=True, timeout=60, env=os.environ | {"SITWELL_SIM_MQTT_PASSWORD": "s3cret"}
        )
        assert good.returncode == 0, good.stderr
        deadline = time.monotonic() + 5
        while len(got) < 11 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert isinstance(decode_packet(got[0]), HelloPacket)
    assert len(got) == 11 and all(isinstance(decode_packet(p), FramePacket) for p in got[1:])
