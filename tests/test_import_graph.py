"""The engine's modules import in one direction: no cycle between model, saving, training,
callbacks and the runner, counting imports inside functions too."""
import ast
from pathlib import Path

import scratchnet

SRC = Path(scratchnet.__file__).parent
CORE = ("model", "saving", "training", "callbacks", "runner", "fusion", "layers", "ops")


def module_of(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_name(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in CORE else None


def imports(path: Path) -> set[str]:
    """Top-level scratchnet modules ``path`` imports anywhere in its body."""
    here = module_of(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
            target = [*base, *(node.module.split(".") if node.module else [])]
            names = [".".join(target)] if node.module else [
                ".".join([*target, alias.name]) for alias in node.names]
            found.update(n for n in names if n)
    return found


def test_no_import_cycle_between_the_core_modules():
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        source = core_name(module_of(path))
        if source is None:
            continue
        for target in imports(path):
            target = core_name(target)
            if target is not None and target != source:
                graph.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False
    cycles = sorted(m for m in graph if reaches(m, m, {m}))
    assert not cycles, f"import cycle through {cycles}: {graph}"
    assert "saving" in graph["model"] and "model" not in graph.get("saving", set())
