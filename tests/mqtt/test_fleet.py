"""Many cushions on one broker, whole-system: a real Mosquitto, `sitwell run --mqtt` as a child
process, the cushions published from this (another) process.

- Nothing lost silently: a publisher faster than the daemon analyses (an artificially small
  analysis.queue_per_cushion) makes it thin the frames, and /healthz accounts for every one:
  received = analysed + shed; gaps in the frames' seq are counted as lost_in_transit.
- Past one machine: two daemons with mqtt.partition 1/2 and 2/2 analyse every cushion exactly once.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from monitor.codec.binary import frame_payload
from monitor.transport.mqtt_input import partition_of
from tests.plugins.faults import SitwellProcess, wait_until, write_config

pytestmark = pytest.mark.mqtt

CELLS = np.full((8, 8), 40, np.uint16)


def _publisher(mosquitto, name: str) -> mqtt.Client:
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    return pub


def _flows(d: SitwellProcess) -> dict[str, dict]:
    return {h["cushion"]: {**h["flow"], "drops": h.get("drops", {})} for h in d.healthz()["inputs"] if "flow" in h}


def _daemon(tmp_path, name: str, mosquitto, analysis: str, mqtt_extra: str = "") -> SitwellProcess:
    (tmp_path / name).mkdir()
    extra = f"[analysis]\n{analysis}\n[mqtt]\n{mqtt_extra}\n"
    cfg = write_config(tmp_path / name / "sitwell.toml", extra=extra)
    d = SitwellProcess(tmp_path / name, "--mqtt", f"{mosquitto.host}:{mosquitto.port}", config=cfg,
                       env={"SITWELL_LOG_LEVEL": "INFO"})
    assert wait_until(lambda: "mqtt: connected to" in d.log, 30), d.log[-2000:]
    time.sleep(0.5)  # subscribed
    return d


def test_a_publisher_faster_than_analysis_is_thinned_and_every_frame_accounted_for(tmp_path, mosquitto):
    # a queue of 8 frames analysed once a second: at 100 Hz most frames must be shed
    d = _daemon(tmp_path, "d", mosquitto, "max_delay_ms = 1000\nqueue_per_cushion = 8")
    pub = _publisher(mosquitto, "fast-cushions")
    sent = {"fast-1": 0, "fast-2": 0}
    try:
        for i in range(300):  # 3 s at 100 Hz, two cushions
            for name in sent:
                pub.publish(f"sitwell/{name}/frames", frame_payload(CELLS, i, 1000 + 10 * i), qos=1)
                sent[name] += 1
            time.sleep(0.01)
        # and one cushion whose seq skips: 5 frames lost before they reached the broker
        for i in [*range(10), *range(15, 25)]:
            pub.publish("sitwell/gappy/frames", frame_payload(CELLS, i, 1000 + 50 * i), qos=1).wait_for_publish(5)

        def settled() -> dict | None:
            flows = _flows(d)
            done = all(flows.get(n, {}).get("received") == k and flows[n]["queued"] == 0 for n, k in sent.items())
            done = done and flows.get("gappy", {}).get("received") == 20 and flows["gappy"]["queued"] == 0
            return flows if done else None

        flows = wait_until(settled, 60, every=0.5)
        assert flows, (_flows(d), d.log[-3000:])
        for name, n in sent.items():
            f = flows[name]
            assert f["received"] == f["analysed"] + f["shed"] == n, f
            assert f["shed"] > n / 2, f  # it could not keep up, and said so
            assert f["reason"] and "thinned" in f["reason"], f
            assert f["lost_in_transit"] == 0, f
        g = flows["gappy"]
        assert g["lost_in_transit"] == 5 and g["received"] == g["analysed"] + g["shed"] == 20, g
        assert "missing in the sequence" in g["reason"]
        assert wait_until(lambda: "shed" in d.log and "lost_in_transit 5" in d.log, 15), d.log[-3000:]
    finally:
        pub.loop_stop()
        pub.disconnect()
        d.kill()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_what_the_broker_drops_for_a_stalled_subscriber_is_counted_as_lost_in_transit(tmp_path, mosquitto_factory,
                                                                                      protocol):
    # a broker with small per-client limits, and a daemon that stops reading (SIGSTOP) for a while;
    # over MQTT 5 the daemon's own in-flight window (mqtt.receive_maximum = 5) is the smaller one
    broker = mosquitto_factory(conf=("max_inflight_messages 10", "max_queued_messages 50"))
    window = 5 if protocol == "5" else 10
    d = _daemon(tmp_path, "d", broker, "max_delay_ms = 0", f'protocol = "{protocol}"\nreceive_maximum = 5')
    pub = _publisher(broker, "stalled-subscriber-cushion")
    topic = "sitwell/desk-1/frames"
    try:
        for i in range(5):  # the cushion is known
            pub.publish(topic, frame_payload(CELLS, i, 1000 + 50 * i), qos=1).wait_for_publish(5)
        assert wait_until(lambda: _flows(d).get("desk-1", {}).get("analysed") == 5, 20), _flows(d)
        os.kill(d.pid, signal.SIGSTOP)
        try:
            for i in range(5, 305):  # the broker acknowledges them all, and keeps what its limits allow
                pub.publish(topic, frame_payload(CELLS, i, 1000 + 50 * i), qos=1).wait_for_publish(5)
        finally:
            os.kill(d.pid, signal.SIGCONT)

        def caught_up() -> bool:  # what the broker kept has arrived: its queue has room again
            before = _flows(d).get("desk-1", {}).get("received")
            time.sleep(1.0)
            return before == _flows(d).get("desk-1", {}).get("received")

        assert wait_until(caught_up, 20)
        for i in range(305, 310):  # after the stall: the gap shows
            pub.publish(topic, frame_payload(CELLS, i, 1000 + 50 * i), qos=1).wait_for_publish(5)

        def settled() -> dict | None:
            f = _flows(d).get("desk-1", {})
            done = f.get("received", 0) + f.get("lost_in_transit", 0) == 310 and f["queued"] == 0
            return f if done else None

        f = wait_until(settled, 30, every=0.5)
        assert f, (_flows(d), broker.log_tail())
        # 5 before, `window` in flight, 50 queued, 5 after; the rest dropped by the broker
        assert f["received"] <= 5 + window + 50 + 5 + 2, f
        assert f["lost_in_transit"] == 310 - f["received"], f
        assert f["received"] == f["analysed"] + f["shed"], f
        assert "missing in the sequence" in f["reason"], f
        print(f"stalled subscriber (MQTT {protocol}): 310 sent, {f['received']} received,"
              f" {f['lost_in_transit']} lost in transit")
    finally:
        pub.loop_stop()
        pub.disconnect()
        d.kill()


def test_two_daemons_with_partitions_analyse_every_cushion_exactly_once(tmp_path, mosquitto):
    daemons = [_daemon(tmp_path, f"p{i}", mosquitto, "max_delay_ms = 0", f'partition = "{i}/2"') for i in (1, 2)]
    pub = _publisher(mosquitto, "partitioned-cushions")
    statuses: dict[str, bytes] = {}
    pub.on_message = lambda _c, _u, msg: statuses.__setitem__(msg.topic, msg.payload)
    pub.subscribe("sitwell/status/#", qos=1)
    cushions = [f"desk-{k}" for k in range(12)]
    owners = {c: partition_of(c, 2) for c in cushions}
    assert set(owners.values()) == {1, 2}  # both daemons have work
    frames = 20
    try:
        for i in range(frames):
            for c in cushions:
                pub.publish(f"sitwell/{c}/frames", frame_payload(CELLS, i, 1000 + 50 * i), qos=1)
            time.sleep(0.05)

        def analysed(d: SitwellProcess) -> dict[str, int]:
            return {c: f["analysed"] for c, f in _flows(d).items()}

        expected = [{c: frames for c in cushions if owners[c] == i} for i in (1, 2)]
        for d, want in zip(daemons, expected, strict=True):
            assert wait_until(lambda d=d, want=want: analysed(d) == want, 30, every=0.5), (analysed(d), want)
        for d, want in zip(daemons, expected, strict=True):
            h = d.healthz()
            foreign = len(cushions) - len(want)
            assert h["other_partition"] == {"frames": foreign * frames, "cushions": foreign}, h["other_partition"]
            assert h["unattributed_drops"] == {}, h  # another daemon's cushions are not a problem
            assert not [n for n in h["notices"] if "partition" in str(n)]
        # each daemon has its own online/offline topic (its last will): one dying is told apart
        want = {f"sitwell/status/partition-{i}-of-2": b"online" for i in (1, 2)}
        assert wait_until(lambda: statuses == want, 10), statuses
    finally:
        pub.loop_stop()
        pub.disconnect()
        for d in daemons:
            d.kill()


def test_partitions_are_stable_across_processes_and_balanced():
    ids = [f"floor-3-desk-{k}" for k in range(1000)]
    here = [partition_of(c, 4) for c in ids]
    # another interpreter (another PYTHONHASHSEED) puts every cushion in the same partition
    code = "import sys; from monitor.transport.mqtt_input import partition_of as p; " \
           "print(' '.join(str(p(c, 4)) for c in sys.stdin.read().split()))"
    out = subprocess.run([sys.executable, "-c", code], input="\n".join(ids), capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout.split()
    assert [int(x) for x in out] == here
    counts = collections.Counter(here)
    assert set(counts) == {1, 2, 3, 4} and all(200 <= n <= 300 for n in counts.values()), counts
