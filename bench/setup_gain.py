"""What the guided set-up buys: posture accuracy on held-out recordings with a set-up segment at
their start, analysed with and without using it.

Each recording (firmware_sim, real-cushion physics `--physics real`, one seed each) is the
set-up's steps in order (an empty seat, then each posture for 14 s, as `sitwell setup` asks)
followed by EVAL_MIN minutes of postures drawn from the seed (upright stretches with the six
other postures between them, 30-90 s each). Both runs analyse every frame through the
daemon's engine; "with" feeds the prefix to the set-up (analysis/setup_steps.py) and, once it
is done, gives the analyzer the sitter's profile (a mirrored cushion: the mounting toggled),
as the dashboard's set-up page does. Scored on the evaluation part only, per frame against
the labels: posture macro-F1 over the seated postures, and accuracy.

    python bench/setup_gain.py --seeds 7000-7011            # the held-out seeds (picked before any run)
    python bench/setup_gain.py --seeds 7000-7011 --mirror   # the same cushions laid mirrored

Seeds 7000-7011 were chosen before this bench first ran and never used for tuning; the
set-up's thresholds were developed on firmware_sim seeds 1-3 (with and without physics).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from firmware_sim import Simulator  # noqa: E402
from firmware_sim.scenario import parse_scenario  # noqa: E402
from monitor.analysis.setup_steps import STEPS, SetupSession  # noqa: E402
from monitor.calibration.mounting import Mounting, apply_fault  # noqa: E402
from monitor.config.settings import AnalysisConfig, RulesConfig  # noqa: E402
from monitor.model import SEATED_POSTURES, DeviceInfo, Frame  # noqa: E402
from monitor.runtime.engine import CushionEngine  # noqa: E402

EVAL_MIN = 12
STEP_SEG_S = 14.0
OTHERS = [p for p in SEATED_POSTURES if p != "upright"]


def scenario(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    segments = [{"kind": "away", "duration_s": 16}] + [{"posture": n, "duration_s": STEP_SEG_S} for n, _ in STEPS[1:]]
    prefix_s = sum(s["duration_s"] for s in segments)
    t = 0.0
    while t < EVAL_MIN * 60:
        for posture in ("upright", str(rng.choice(OTHERS))):
            d = float(rng.uniform(30, 90))
            segments.append({"posture": posture, "duration_s": d})
            t += d
    return {"prefix_s": prefix_s, "segments": segments}


def macro_f1(truth: list[str], pred: list[str]) -> float:
    f1s = []
    for p in SEATED_POSTURES:
        tp = sum(1 for a, b in zip(truth, pred, strict=True) if a == p and b == p)
        fp = sum(1 for a, b in zip(truth, pred, strict=True) if a != p and b == p)
        fn = sum(1 for a, b in zip(truth, pred, strict=True) if a == p and b != p)
        if tp + fn == 0:
            continue
        f1s.append(2 * tp / max(1, 2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else float("nan")


def run(seed: int, use_setup: bool, mirror: bool) -> dict:
    sc = scenario(seed)
    sim = Simulator(parse_scenario({"segments": sc["segments"]}, f"setup-gain-{seed}"), rate_hz=10, seed=seed,
                    physics="real")
    fault = Mounting(mirror=mirror)
    session = SetupSession() if use_setup else None
    engine: CushionEngine | None = None
    truth: list[str] = []
    pred: list[str] = []
    batch: list[Frame] = []
    labels: list[dict] = []
    result = None

    def flush() -> None:
        nonlocal engine, result
        assert engine is not None
        for step, label in zip(engine.process_batch(batch), labels, strict=True):
            if session is not None and not session.done:
                session.feed(step.frame.t, step.reading)
                if session.done:
                    result = session.result()
                    if result.mirrored:  # the mounting toggled: read afresh from here
                        engine = CushionEngine("c", engine.device, RulesConfig(), AnalysisConfig(), datetime.now(UTC),
                                               mounting=Mounting(mirror=not engine.mounting.mirror),
                                               profile=result.profile)
                    else:
                        engine.analyzer.set_profile(result.profile)
            if step.frame.t >= sc["prefix_s"] + 5 and label.get("occupied"):
                truth.append(label["posture"])
                pred.append(step.update.state.posture if step.update.state.occupied else "empty")
        batch.clear()
        labels.clear()

    for f in sim.frames():
        cells = apply_fault(np.asarray(f.cells), fault, sim_max(sim))
        if engine is None:
            engine = CushionEngine("c", DeviceInfo(rows=cells.shape[0], cols=cells.shape[1], max_value=sim_max(sim)),
                                   RulesConfig(), AnalysisConfig(), datetime.now(UTC))
        batch.append(Frame("c", f.t, cells, sim_max(sim)))
        labels.append(f.label or {})
        if len(batch) >= 64:
            flush()
    if batch:
        flush()
    acc = float(np.mean([a == b for a, b in zip(truth, pred, strict=True)])) if truth else float("nan")
    return {"seed": seed, "setup": use_setup, "mirror": mirror, "macro_f1": round(macro_f1(truth, pred), 4),
            "accuracy": round(acc, 4), "frames": len(truth),
            "setup_done": None if session is None else session.done,
            "found_mirror": None if result is None else result.mirrored,
            "cannot_tell": None if result is None else result.cannot_tell}


def sim_max(sim: Simulator) -> int:
    info = sim.physics_info() or {}
    return int((info.get("draw") or {}).get("max_value") or getattr(sim, "max_value", 4095) or 4095)


def seeds_arg(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="7000-7011")
    ap.add_argument("--mirror", action="store_true")
    args = ap.parse_args()
    rows = []
    for seed in seeds_arg(args.seeds):
        for use in (False, True):
            r = run(seed, use, args.mirror)
            rows.append(r)
            print(json.dumps(r), flush=True)
    for use in (False, True):
        got = [r for r in rows if r["setup"] is use]
        f1 = [r["macro_f1"] for r in got]
        print(f"{'with' if use else 'without'} set-up: macro-F1 mean {np.mean(f1):.3f}, worst {min(f1):.3f};"
              f" accuracy mean {np.mean([r['accuracy'] for r in got]):.3f}", flush=True)


if __name__ == "__main__":
    main()
