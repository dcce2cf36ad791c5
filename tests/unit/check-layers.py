#!/usr/bin/env python3
"""Checks that dependencies between source files go one way.

    check-layers.py --build-root DIR --kernel-header linux/cachefiles.h --kernel-room supervisor/cachefiles \
        LAYER=LIB.a [LAYER=LIB.a ...] [-- OTHER.a ...]

LAYERs are given lowest first. From the built objects (nm), file A depends
on file B when A calls a function or uses data B defines. It fails when:
  - files form a call cycle (any two files, any room);
  - a file of a lower layer uses one of a higher layer;
  - a file outside the kernel room includes the kernel header, directly
    or through other headers (read from ninja's deps log).
Archives after "--" are checked for cycles only (the worker, for one).
"""
import collections
import os
import subprocess
import sys


def members(archive):
    """{object path: [(kind, symbol)]} of one static library (nm's POSIX format)."""
    out = subprocess.run(["nm", "-A", "-P", archive], capture_output=True, text=True, check=True).stdout
    objs = collections.defaultdict(list)
    base = os.path.dirname(archive)
    for line in out.splitlines():
        loc, _, rest = line.partition("]: ")
        parts = rest.split()
        if "[" not in loc or len(parts) < 2:
            continue
        member = loc.split("[", 1)[1]
        # nm names a thin archive's members by path (as the archive was named); a normal one by file name.
        obj = member if os.sep in member else os.path.join(archive + ".p", member)
        objs[obj].append(("U" if parts[1] in "Uw" else parts[1], parts[0]))
    return objs


SRC_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def source_of(obj):
    """The source file of obj, from the source root (the first file the compiler read)."""
    deps = depfile(obj)
    return os.path.relpath(deps[0], SRC_ROOT) if deps else os.path.basename(obj)


BUILD_ROOT = "."
_DEPS = None


def depfile(obj):
    """The files the compiler read for obj, from ninja's deps log (paths from the build root)."""
    global _DEPS
    if _DEPS is None:
        _DEPS = collections.defaultdict(list)
        out = subprocess.run(["ninja", "-C", BUILD_ROOT, "-t", "deps"], capture_output=True, text=True).stdout
        target = None
        for line in out.splitlines():
            if line and not line[0].isspace():
                target = os.path.normpath(os.path.join(BUILD_ROOT, line.split(":", 1)[0]))
            elif line.strip() and target:
                _DEPS[target].append(os.path.normpath(os.path.join(BUILD_ROOT, line.strip())))
    return _DEPS.get(os.path.normpath(obj), [])


def tarjan(nodes, edges):
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(100000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in comps if len(c) > 1]


def main(argv):
    header, room, layers, others = None, None, [], []
    args = iter(argv)
    rest = False
    for a in args:
        if a == "--kernel-header":
            header = next(args)
        elif a == "--kernel-room":
            room = next(args)
        elif a == "--build-root":
            global BUILD_ROOT
            BUILD_ROOT = next(args)
        elif a == "--":
            rest = True
        elif rest:
            others.append(a)
        else:
            name, _, lib = a.partition("=")
            layers.append((name, lib))

    layer_of, symbols, uses, src = {}, {}, collections.defaultdict(set), {}
    for rank, (name, lib) in enumerate(layers + [("other", o) for o in others]):
        for obj, syms in members(lib).items():
            src[obj] = source_of(obj)
            layer_of[obj] = (rank if rank < len(layers) else None, name)
            for kind, sym in syms:
                if kind == "U":
                    uses[obj].add(sym)
                elif kind in "TDBR":
                    symbols[sym] = obj
    edges = collections.defaultdict(set)
    for obj, syms in uses.items():
        for sym in syms:
            to = symbols.get(sym)
            if to and to != obj:
                edges[obj].add(to)

    failures = 0
    for comp in tarjan(list(src), edges):
        failures += 1
        print("CYCLE:", " -> ".join(sorted(src[o] for o in comp)))
    for obj, tos in sorted(edges.items()):
        for to in sorted(tos):
            (ra, na), (rb, nb) = layer_of[obj], layer_of[to]
            if ra is not None and rb is not None and rb > ra:
                failures += 1
                print(f"UPWARD: {src[obj]} ({na}) calls {src[to]} ({nb})")
    if header:
        seen = []
        for obj in sorted(src):
            if any(p.endswith(header) for p in depfile(obj)):
                seen.append(src[obj])
                if room and not src[obj].startswith(room + "/"):
                    failures += 1
                    print(f"HEADER: {src[obj]} includes <{header}> outside {room}/")
        print(f"files that include <{header}>: " + ", ".join(seen))
    n_edges = sum(len(t) for t in edges.values())
    print(f"{len(src)} files, {n_edges} file-to-file dependencies, "
          f"{sum(1 for _ in tarjan(list(src), edges))} cycles, layers (lowest first): "
          + " < ".join(n for n, _ in layers))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
