"""The app import graph and the direct writes outside services, as figures (docs/architecture.md).

    .venv/bin/python bench/import_graph.py [--with-tests]

Prints the pairs of apps that import each other, the largest import cycle between apps (the biggest
strongly connected component of the app graph), every upward import the layers contract of
`pyproject.toml` would refuse without its `ignore_imports`, and the number of direct model writes
outside services (tests/test_architecture.py's count, with and without its allow-list).
Tests and migrations are left out unless `--with-tests`.
"""

import sys
import tomllib
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def app_graph(apps: list[str], with_tests: bool) -> dict[str, set[str]]:
    import grimp

    graph = grimp.build_graph(*apps, cache_dir=None)
    edges: dict[str, set[str]] = {app: set() for app in apps}
    for importer in graph.modules:
        parts = importer.split(".")
        if not with_tests and ({"tests", "migrations"} & set(parts) or parts[-1].startswith("test_")):
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = parts[0], imported.split(".")[0]
            if a != b:
                edges[a].add(b)
    return edges


def largest_cycle(edges: dict[str, set[str]]) -> list[str]:
    """Tarjan's strongly connected components; the biggest one with more than one app."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return max(found, key=len) if found else []


def upward_imports() -> list[str]:
    """What the layers contract finds with no ignore list (tests and migrations left out)."""
    import grimp

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = config["contracts"][0]
    graph = grimp.build_graph(*config["root_packages"], cache_dir=None)
    for module in list(graph.modules):
        parts = module.split(".")
        if {"tests", "migrations"} & set(parts):
            graph.remove_module(module)
    layers = [
        grimp.Layer(*[name.strip() for name in layer.replace(":", "|").split("|")], independent="|" in layer)
        for layer in contract["layers"]
    ]
    found = []
    for dependency in graph.find_illegal_dependencies_for_layers(layers=layers):
        for route in dependency.routes:
            for head in route.heads:
                for tail in route.tails:
                    found.append(f"{head} -> {tail}" if not route.middle else f"{head} -> … -> {tail}")
    return sorted(set(found))


def direct_writes() -> tuple[int, int]:
    import django

    sys.path.insert(0, str(ROOT / "tests"))
    django.setup()
    import test_architecture as arch

    allowed = dict(arch.ALLOWED)
    outside_allow_list = len(arch.direct_writes())
    arch.ALLOWED.clear()
    everything = len(arch.direct_writes())
    arch.ALLOWED.update(allowed)
    return outside_allow_list, everything


def main() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    with_tests = "--with-tests" in sys.argv
    apps = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "bench")
    edges = app_graph(apps, with_tests)
    pairs = [f"{a} <-> {b}" for a, b in combinations(apps, 2) if b in edges[a] and a in edges[b]]
    cycle = largest_cycle(edges)
    print(f"apps: {len(apps)}; app-to-app import edges: {sum(len(v) for v in edges.values())}")
    print(f"pairs of apps importing each other: {len(pairs)}")
    for pair in pairs:
        print(f"  {pair}")
    print(f"largest cycle: {len(cycle) if len(cycle) > 1 else 0} apps {cycle if len(cycle) > 1 else ''}")
    upward = upward_imports()
    print(f"upward imports (layers contract, no ignore list): {len(upward)}")
    for line in upward:
        print(f"  {line}")
    outside, everything = direct_writes()
    print(f"direct model writes outside services: {everything} ({outside} outside the allow-list)")


if __name__ == "__main__":
    main()
