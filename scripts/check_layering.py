#!/usr/bin/env python3
"""Checks Lathe's layering over #include lines and CMake link lines.

Rules (docs/Architecture.md, "Layers"):
  * runtime/ reaches only its own headers (lathe/runtime/...) and never MLIR
    or LLVM: generated code and other languages call it through a C ABI.
  * a dialect folder (dialects/<X>/) reaches its own headers, the shared
    interfaces (lathe/Interfaces/, lathe/Support/) and upstream MLIR, never
    another dialect's folder, a target (lathe/Target/), a conversion
    (lathe/Conversion/), the runtime's ABI, the driver or the pipelines
    (header-only algorithms the runtime shares with a pass, listed in
    SHARED_ALGORITHM_HEADERS, are not ABI); its libraries link only its own
    libraries, LatheInterfaces and MLIR.
  * target-independent code (lib/Transforms, lib/Conversion, lib/Interfaces
    and their headers) never reaches a target (lathe/Target/, the
    LatheTarget*/LatheCPU* libraries): a target's pipelines, contracts and
    lowerings live in lib/Target/<Name>/ and build on them, not the reverse.
  * nothing under include/, lib/, dialects/ or runtime/ reaches tools/.

Known exceptions are listed in ALLOWED with the reason; an exception that no
longer occurs is an error too, so the list shrinks as the code is fixed.
Exits 1 and names every violation; prints a one-line summary otherwise.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Header-only algorithms in the runtime's include folder that carry no ABI and
# no state, shared on purpose by a compile-time pass and the runtime so that
# both compute the same result (one copy of the algorithm, not two):
#   GraphOrder.h: the node orderings sparsegcn-tile prices at compile time and
#   the runtime applies to an adjacency known only at run time.
#   RowGroups.h: the row groups of the row-group SpMM engine, priced by
#   sparsegcn-tile and built by the runtime.
#   PoolWindow.h: whether every pooling window takes an input element, checked
#   by lathe.max_pool2d's verifier (and lathe-cpu-form-kernels) and by the
#   runtime's pooling kernel.
SHARED_ALGORITHM_HEADERS = {"lathe/runtime/GraphOrder.h", "lathe/runtime/RowGroups.h",
                            "lathe/runtime/PoolWindow.h"}

# (path prefix, what it reaches) -> why it is tolerated for now.
ALLOWED = {
}

INCLUDE = re.compile(r'^\s*#\s*include\s+[<"]([^">]+)[">]|^\s*include\s+"([^"]+)"')
LINK = re.compile(r'(?:mlir_)?target_link_libraries\s*\(([^)]*)\)', re.S)
SOURCE_EXT = (".h", ".cpp", ".c", ".inc", ".td", ".cu")


def files_under(top, exts):
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
        dirnames[:] = [d for d in dirnames if not d.startswith(("build", "."))]
        for name in filenames:
            if name.endswith(exts):
                path = os.path.join(dirpath, name)
                yield os.path.relpath(path, ROOT)


def includes(path):
    with open(os.path.join(ROOT, path), errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield number, m.group(1) or m.group(2)


def links(path):
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    for m in LINK.finditer(text):
        number = text.count("\n", 0, m.start()) + 1
        for word in m.group(1).split()[1:]:
            if word not in ("PUBLIC", "PRIVATE", "INTERFACE") and not word.startswith("$"):
                yield number, word


def main():
    used = set()
    errors = []

    def check(path, number, what, rule):
        for (prefix, reached), _ in ALLOWED.items():
            if path.startswith(prefix) and what.startswith(reached):
                used.add((prefix, reached))
                return
        errors.append(f"{path}:{number}: reaches {what!r}: {rule}")

    # runtime/: its own headers only, no MLIR/LLVM.
    for path in files_under("runtime", SOURCE_EXT):
        for number, inc in includes(path):
            if inc.startswith(("mlir/", "llvm/", "llvm-c/", "mlir-c/")):
                check(path, number, inc, "the runtime never includes MLIR or LLVM")
            elif inc.startswith("lathe/") and not inc.startswith("lathe/runtime/"):
                check(path, number, inc, "the runtime reaches only lathe/runtime/")
    for path in files_under("runtime", ("CMakeLists.txt",)):
        for number, lib in links(path):
            if lib.startswith(("MLIR", "LLVM")) or (lib.startswith("Lathe") and not lib.startswith("LatheRuntime")):
                check(path, number, "link:" + lib, "the runtime links no MLIR, LLVM or compiler library")

    # dialects/<X>/: own folder, shared interfaces, upstream.
    dialects = sorted(d for d in os.listdir(os.path.join(ROOT, "dialects"))
                      if os.path.isdir(os.path.join(ROOT, "dialects", d)))
    for name in dialects:
        top = f"dialects/{name}"
        for path in files_under(top, SOURCE_EXT):
            for number, inc in includes(path):
                if not inc.startswith("lathe/"):
                    continue
                if inc.startswith(f"lathe/Dialect/{name}/") or inc.startswith(("lathe/Interfaces/", "lathe/Support/")):
                    continue
                if inc in SHARED_ALGORITHM_HEADERS:
                    continue
                if inc.startswith("lathe/Dialect/"):
                    rule = "a dialect never reaches another dialect's folder (use an interface, or put the conversion in lib/Conversion/)"
                else:
                    rule = "a dialect never reaches a target, a conversion, the runtime ABI, the driver or the pipelines"
                check(path + "", number, inc, rule)
        for path in files_under(top, ("CMakeLists.txt",)):
            for number, lib in links(path):
                if not lib.startswith("Lathe"):
                    continue
                own = lib.startswith(f"Lathe{name}") or (name == "Lathe" and lib.startswith("LatheDialect"))
                if own or lib == "LatheInterfaces":
                    continue
                check(path, number, "link:" + lib, "a dialect's libraries link only its own libraries, LatheInterfaces and MLIR")

    # Target-independent code reaches no target.
    for top in ("lib/Transforms", "lib/Conversion", "lib/Interfaces",
                "include/lathe/Transforms", "include/lathe/Conversion", "include/lathe/Interfaces"):
        for path in files_under(top, SOURCE_EXT):
            for number, inc in includes(path):
                if inc.startswith("lathe/Target/"):
                    check(path, number, inc, "target-independent code never reaches a target (lib/Target/<Name>/ builds on it)")
        for path in files_under(top, ("CMakeLists.txt",)):
            for number, lib in links(path):
                if lib.startswith(("LatheTarget", "LatheCPU")):
                    check(path, number, "link:" + lib, "target-independent code never links a target's library")

    # Nothing reaches tools/.
    for top in ("include", "lib", "dialects", "runtime"):
        for path in files_under(top, SOURCE_EXT):
            for number, inc in includes(path):
                if inc.startswith("tools/") or "/tools/" in inc:
                    check(path, number, inc, "libraries never reach tools/")

    stale = [k for k in ALLOWED if k not in used]
    for prefix, reached in stale:
        errors.append(f"scripts/check_layering.py: the exception ({prefix!r}, {reached!r}) no longer occurs: remove it from ALLOWED")
    if errors:
        print("\n".join(errors))
        print(f"check_layering: {len(errors)} violation(s)")
        return 1
    print(f"check_layering: ok ({len(dialects)} dialects; {len(ALLOWED)} known exception(s), see ALLOWED)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
