"""The shape of the code: no import cycles (lazy imports included), and layers that only point down."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "intents", "vehicle_bus", "models", "hardware")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        yield node
        yield from runtime_nodes(node)


def import_graph() -> dict[str, set[str]]:
    """Product module -> the product modules it imports anywhere it runs (inside functions too)."""
    modules = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once, from where it was entered)."""
    found, state = [], {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def imported_by(module: str) -> set[str]:
    """The modules a fresh interpreter has loaded after importing ``module``."""
    out = subprocess.run([sys.executable, "-c", f"import sys, {module}; print(' '.join(sys.modules))"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_hardware_and_the_bus_do_not_import_the_layers_above_them():
    for module in ("hardware.profile", "hardware.probe", "vehicle_bus.client", "vehicle_bus.sim.vehicle"):
        above = {m for m in imported_by(module) if m.split(".")[0] in ("intents", "assistant")}
        assert not above, f"{module} imports {sorted(above)}"


def test_loading_the_config_loads_no_audio_stack():
    loaded = imported_by("assistant.config")
    assert not loaded & {"assistant.voice.live", "assistant.voice.vad", "assistant.voice.speech", "av", "onnxruntime",
                         "llama_cpp"}


def test_the_intents_know_the_car_not_the_transport():
    """Only ``intents.vehicle`` reaches the bus; the rest of the layer knows of it only the signal table."""
    graph = import_graph()
    for module in (m for m in graph if m.startswith("intents.") and m != "intents.vehicle"):
        transport = {m for m in graph[module] if m.startswith("vehicle_bus") and m != "vehicle_bus.signals"}
        assert not transport, f"{module} imports {sorted(transport)}"


def string_constants(path: Path):
    """(line, text) of every string constant of a module, the literal parts of f-strings included."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_vss_paths_are_spelled_out_only_in_the_signal_table():
    """Code names a signal by ``vehicle_bus.signals``' constants and lookups, never by a path of its own."""
    table = ROOT / "vehicle_bus" / "signals.py"
    modules = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py") if path != table]
    spelled = [f"{path.relative_to(ROOT)}:{line}" for path in modules for line, text in string_constants(path)
               if text.startswith("Vehicle.")]
    assert not spelled, f"VSS paths outside {table.relative_to(ROOT)}: {spelled}"


MAX_LINES = 450


def test_no_product_module_is_over_450_lines():
    lengths = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
               for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    too_long = {path: n for path, n in lengths.items() if n > MAX_LINES}
    assert not too_long, f"split these modules (at most {MAX_LINES} lines each): {too_long}"


MAX_LINE = 110
WRAPPED = ("assistant", "vehicle_bus", "models", "hardware")
"""The packages held to ``MAX_LINE``; ``intents`` joins them once its long lines (regular expressions and
phrase lists, being changed elsewhere) are wrapped."""


def test_no_product_line_is_over_110_characters():
    long_lines = [f"{path.relative_to(ROOT)}:{number}"
                  for package in WRAPPED for path in (ROOT / package).rglob("*.py")
                  for number, line in enumerate(path.read_text().splitlines(), start=1) if len(line) > MAX_LINE]
    assert not long_lines, f"wrap these lines (at most {MAX_LINE} characters): {long_lines}"
