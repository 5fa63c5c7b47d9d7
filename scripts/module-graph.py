#!/usr/bin/env python3
"""Prints the import graph of core/src's modules (a `use crate::x` or `crate::x::` path in a
module's non-test code is an edge) and exits 1 on a cycle. CI runs it."""
import glob
import os
import re
import sys

root = os.path.join(os.path.dirname(__file__), "..", "core", "src")
reexports = {}  # root-level names `pub use x::{A, B}` in lib.rs -> module x
lib = open(os.path.join(root, "lib.rs")).read()
for module, names in re.findall(r"pub use (\w+)::\{?([\w, ]+)\}?;", lib):
    for name in names.split(","):
        reexports[name.strip()] = module

graph = {}
for path in glob.glob(os.path.join(root, "*.rs")) + glob.glob(os.path.join(root, "*", "*.rs")):
    module = os.path.relpath(path, root).split(os.sep)[0].removesuffix(".rs")
    if module == "lib":
        continue
    code = open(path).read().split("#[cfg(test)]")[0]
    code = "\n".join(l for l in code.splitlines() if not l.lstrip().startswith("//"))
    edges = {reexports.get(m, m) for m in re.findall(r"crate::(\w+)", code)}
    graph.setdefault(module, set()).update(e for e in edges if e != module)

modules = set(graph)
for module in sorted(graph):
    print(f"{module} -> {', '.join(sorted(graph[module] & modules)) or '(nothing)'}")

state, cycles = {}, []
def visit(module, path):
    state[module] = "open"
    for dep in sorted(graph[module] & modules):
        if state.get(dep) == "open":
            cycles.append(path + [module, dep])
        elif dep not in state:
            visit(dep, path + [module])
    state[module] = "done"
for module in sorted(graph):
    if module not in state:
        visit(module, [])
for cycle in cycles:
    print("cycle: " + " -> ".join(cycle[cycle.index(cycle[-1]):]))
sys.exit(1 if cycles else 0)
