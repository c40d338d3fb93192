"""The house rules of docs/architecture.md, checked on the source: the import rule, no import
cycles, no private name imported across modules, and modules under ~400 lines of code.

Every import counts, wherever it stands (module top, inside a function, under
TYPE_CHECKING): a lazy import still ties one layer to another. Each rule is also run on a
small planted tree in tmp_path, so a broken checker cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("monitor", "dashboard", "firmware_sim")
# Where a private name must not be imported from another module: the packages, and the
# benchmarks and tests that use them (tests may still monkeypatch a private hook).
PRIVATE_CHECKED = (*PACKAGES, "bench", "tests")
MAX_CODE_LINES = 400
LONG_REASON = "Long because"

# The layers, lowest first. A module may import its own layer and any lower one, never a
# layer of the same rank or higher: the path stages (codec .. tracker) only look back
# along the path; the two edges, transport (bytes in) and sinks (steps out), use the core
# but not each other; the service (runtime), the web face (dashboard, which sees only the
# Runtime protocol) and the offline tools sit on top, the process that serves the
# dashboard (runtime.server) above those, and the CLI above everything.
RANKS: dict[str, float] = {
    "monitor.model": 0,
    "monitor.config": 1,
    "monitor.mqtt": 2,
    "monitor.codec": 3,
    "monitor.calibration": 4,
    "monitor.analysis": 5,
    "monitor.tracker": 6,
    "monitor.transport": 7,
    "monitor.sinks": 7,
    # the pain journal: its entries live in the store's file, it is asked by the runtime
    "monitor.journal": 7.5,
    "monitor.runtime": 8,
    "dashboard": 9,
    "monitor.offline": 9,
    "monitor.runtime.server": 10,
    "monitor.cli": 11,
    "monitor": 12,  # the package's own __init__ (it imports nothing)
}
# Narrower still: from these layers, an importer may take only the modules named.
ONLY_THROUGH: dict[tuple[str, str], tuple[str, ...]] = {
    ("dashboard", "monitor.runtime"): ("monitor.runtime.protocol",),  # the web layer sees the Protocol only
}
# Import cycles are looked for here (firmware_sim is the simulator's own business).
ACYCLIC = ("monitor", "dashboard")
# The simulator is an independent device: it imports nothing of the monitor or the
# dashboard. The simulated input (transport) plugs it in, below the codec; the config
# model asks it for its scenario names to check `sim.scenario` (it owns them).
DEVICE = "firmware_sim"
DEVICE_USERS = ("monitor.transport", "monitor.config.settings")


# ---- reading the tree ----------------------------------------------------------------------


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            if ".venv" not in path.parts:
                out[module_name(root, path)] = path
    return out


def imported_modules(root: Path, name: str, path: Path, known: set[str]) -> set[str]:
    """First-party modules `name` imports (`from pkg import sub` counts as pkg.sub when sub is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            out.update(subs)
            if len(subs) < len(node.names):
                out.add(target)
    return {m for m in out if m in known}


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    files = source_files(root, packages)
    known = set(files)
    return {name: imported_modules(root, name, path, known) - {name} for name, path in files.items()}


def layer_of(module: str) -> str | None:
    """The most specific RANKS key that `module` is, or lies in."""
    best = None
    for layer in RANKS:
        if (module == layer or module.startswith(layer + ".")) and (best is None or len(layer) > len(best)):
            best = layer
    return best


# ---- the rules -----------------------------------------------------------------------------


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in sorted(graph.items()):
        for dst in sorted(targets):
            top_src, top_dst = src.split(".")[0], dst.split(".")[0]
            if top_src == DEVICE:
                if top_dst != DEVICE:
                    bad.append(f"{src} imports {dst}: the simulator imports nothing of sitwell")
                continue
            if top_dst == DEVICE:
                if not any(src == u or src.startswith(u + ".") for u in DEVICE_USERS):
                    bad.append(f"{src} imports {dst}: only {', '.join(DEVICE_USERS)} plug the simulator in")
                continue
            ls, ld = layer_of(src), layer_of(dst)
            if ls is None or ld is None:
                bad.append(f"{src} imports {dst}: {'the importer' if ls is None else 'the target'} has no layer")
            elif ls == ld or dst == ls or src.startswith(ld + ".") or dst.startswith(src + "."):
                continue  # within one layer, or between a package and its own __init__
            elif RANKS[ld] >= RANKS[ls]:
                bad.append(f"{src} ({ls}) imports {dst} ({ld}): a layer imports only lower ones")
            elif (ls, ld) in ONLY_THROUGH and dst not in ONLY_THROUGH[ls, ld]:
                bad.append(f"{src} imports {dst}: {ls} takes from {ld} only {', '.join(ONLY_THROUGH[ls, ld])}")
    return bad


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def private_imports(root: Path, packages: Iterable[str] = PRIVATE_CHECKED) -> list[str]:
    """`from first.party import _name`: a private name taken from another module."""
    first = set(PRIVATE_CHECKED)
    bad = []
    for name, path in source_files(root, packages).items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in first):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        bad.append(f"{name}:{node.lineno} imports {a.name} from {'.' * node.level}{node.module or ''}")
    return bad


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not in the module docstring."""
    tree = ast.parse(source)
    skip: set[int] = set()
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        doc = first
        skip = set(range(doc.lineno, (doc.end_lineno or doc.lineno) + 1))
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                        tokenize.ENDMARKER):
            continue
        lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - skip)


def long_modules(root: Path, packages: Iterable[str] = ("monitor",)) -> list[str]:
    """Modules over MAX_CODE_LINES lines of code whose docstring gives no 'Long because' reason."""
    bad = []
    for name, path in source_files(root, packages).items():
        source = path.read_text(encoding="utf-8")
        n = code_lines(source)
        doc = ast.get_docstring(ast.parse(source)) or ""
        if n > MAX_CODE_LINES and LONG_REASON not in doc:
            bad.append(f"{name}: {n} lines of code")
    return bad


# ---- on the real tree ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT)


def test_every_module_has_a_layer(graph):
    assert [m for m in graph if m.split(".")[0] != DEVICE and layer_of(m) is None] == []
    assert len(graph) > 50  # the checker sees the tree, not an empty folder


def test_imports_follow_the_layers(graph):
    assert layer_violations(graph) == []


def test_the_path_really_is_one_way(graph):
    # what the rule rests on, as a few concrete facts the layers must keep showing
    assert "monitor.codec.binary" in graph["monitor.transport.mqtt_input"]  # an input decodes its bytes
    assert "monitor.runtime.protocol" in graph["dashboard.app"]  # the web layer sees the Protocol
    assert not any(m.startswith("monitor.") for m in graph["firmware_sim.simulator"])


def test_no_import_cycles():
    assert import_cycles(import_graph(ROOT, ACYCLIC)) == []


def test_no_private_name_crosses_a_module():
    assert private_imports(ROOT) == []


def test_modules_stay_small_or_say_why():
    assert long_modules(ROOT) == []


# ---- the checkers catch what they are for (a planted tree) -----------------------------------


def plant(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for pkg_dir in {p.parent for p in root.rglob("*.py")}:
        while pkg_dir != root:
            (pkg_dir / "__init__.py").touch()
            pkg_dir = pkg_dir.parent
    return root


def test_a_planted_import_up_the_path_is_caught(tmp_path):
    root = plant(tmp_path, {
        "monitor/model.py": '"""Plain types."""\n',
        "monitor/runtime/engine.py": '"""Engine."""\nfrom monitor.analysis.seat import Seat\n',
        "monitor/analysis/seat.py": '"""Seat."""\nfrom monitor.model import X\n',
        # the bad one: analysis reaching up into the runtime, inside a function
        "monitor/analysis/posture.py": '"""Posture."""\ndef f():\n    from monitor.runtime import engine\n',
        "monitor/codec/text.py": '"""Text."""\nfrom ..sinks import store\n',  # relative, up to a sink
        "monitor/sinks/store.py": '"""Store."""\nfrom monitor.tracker.events import Break\n',
        "monitor/tracker/events.py": '"""Events."""\n',
        "firmware_sim/simulator.py": '"""Sim."""\nimport monitor.model\n',
        "monitor/tracker/rules.py": '"""Rules."""\nimport firmware_sim.simulator\n',
        "dashboard/app.py": ('"""App."""\nfrom monitor.runtime.protocol import Runtime\n'
                             'from monitor.runtime import engine\n'),
        "monitor/runtime/protocol.py": '"""Protocol."""\n',
    })
    bad = layer_violations(import_graph(root))
    assert bad == [
        "dashboard.app imports monitor.runtime.engine: "
        "dashboard takes from monitor.runtime only monitor.runtime.protocol",
        "firmware_sim.simulator imports monitor.model: the simulator imports nothing of sitwell",
        "monitor.analysis.posture (monitor.analysis) imports monitor.runtime.engine (monitor.runtime): "
        "a layer imports only lower ones",
        "monitor.codec.text (monitor.codec) imports monitor.sinks.store (monitor.sinks): "
        "a layer imports only lower ones",
        "monitor.tracker.rules imports firmware_sim.simulator: "
        "only monitor.transport, monitor.config.settings plug the simulator in",
    ]


def test_peers_may_not_import_each_other(tmp_path):
    root = plant(tmp_path, {
        "monitor/transport/serial_port.py": '"""Serial."""\nfrom monitor.sinks.recorder import RawRecorder\n',
        "monitor/sinks/recorder.py": '"""Recorder."""\nfrom monitor.codec.recording import Writer\n',
        "monitor/codec/recording.py": '"""Recording."""\n',
    })
    assert layer_violations(import_graph(root)) == [
        "monitor.transport.serial_port (monitor.transport) imports monitor.sinks.recorder (monitor.sinks): "
        "a layer imports only lower ones",
    ]


def test_a_planted_cycle_is_caught(tmp_path):
    root = plant(tmp_path, {
        "monitor/tracker/a.py": '"""A."""\nfrom monitor.tracker import b\n',
        "monitor/tracker/b.py": '"""B."""\nfrom monitor.tracker.c import C\n',
        "monitor/tracker/c.py": '"""C."""\nif True:\n    import monitor.tracker.a\n',
        "monitor/tracker/d.py": '"""D, outside the cycle."""\nfrom monitor.tracker import a\n',
    })
    assert import_cycles(import_graph(root)) == [["monitor.tracker.a", "monitor.tracker.b", "monitor.tracker.c"]]


def test_a_planted_private_import_is_caught(tmp_path):
    root = plant(tmp_path, {
        "monitor/cli/main.py": '"""Main."""\ndef _split_host(s): ...\n',
        "monitor/cli/calibrate.py": '"""Calibrate."""\nfrom monitor.cli.main import _split_host, main\n',
        "monitor/cli/run.py": '"""Run."""\nfrom .main import __doc__, _split_host as split\n',
        "tests/test_x.py": '"""T."""\nfrom monitor.cli.main import _split_host\nimport os\nfrom os import _exit\n',
    })
    assert sorted(private_imports(root)) == [
        "monitor.cli.calibrate:2 imports _split_host from monitor.cli.main",
        "monitor.cli.run:2 imports _split_host from .main",
        "tests.test_x:2 imports _split_host from monitor.cli.main",
    ]


def test_a_planted_long_module_is_caught_unless_it_says_why(tmp_path):
    body = "".join(f"x{i} = {i}  # one line of code\n\n# a comment line\n" for i in range(MAX_CODE_LINES + 1))
    doc = '"""A module.\n\n' + "filler\n" * 50 + '"""\n'
    root = plant(tmp_path, {
        "monitor/long.py": doc + body,
        "monitor/long_ok.py": '"""A module.\n\nLong because it is a table.\n"""\n' + body,
        "monitor/short.py": doc + body.replace(f"x{MAX_CODE_LINES} = {MAX_CODE_LINES}  # one line of code\n", ""),
    })
    assert code_lines((root / "monitor/short.py").read_text()) == MAX_CODE_LINES
    assert long_modules(root) == [f"monitor.long: {MAX_CODE_LINES + 1} lines of code"]
