# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "Lathe"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.lathe_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.lathe_tools_dir, append_path=True)

# %python (from use_default_substitutions) is CMake's Python3_EXECUTABLE:
# Debian's /usr/bin/python3, which has numpy, torch and h5py.
config.substitutions.append(("%lathe_src", config.lathe_src_root))
config.substitutions.append(("%scripts", os.path.join(config.lathe_src_root, "scripts")))
config.substitutions.append(("%examples", config.lathe_examples_dir))
config.substitutions.append(("%accel_configs", os.path.join(config.lathe_src_root, "configs", "accel")))
# The build tree (installing the runtime, building examples/), and how to
# compile programs against its runtime: the build's compilers, and in a
# sanitizer build (LATHE_SANITIZE) the sanitizer flags the runtime needs.
config.substitutions.append(("%lathe_build", config.lathe_obj_root))
config.substitutions.append(("%lathe_cc", config.lathe_cc))
config.substitutions.append(("%lathe_cxx", config.lathe_cxx))
sanitize_flags = ""
if config.lathe_sanitize.upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("sanitize")
    sanitize_flags = "-fsanitize=address,undefined"
config.substitutions.append(("%sanitize_flags", sanitize_flags))
shared_data = os.path.join(os.path.dirname(config.lathe_src_root), "shared", "data")
config.substitutions.append(("%shared_data", shared_data))
if os.path.isdir(os.path.join(shared_data, "cora")):
    config.available_features.add("cora")

# LATHE_TEST_TARGET_CPU=x86-64-v3 runs every lathe-run of the RUN lines with
# its JIT capped to that CPU (docs/Testing.md: tests on any x86-64 CPU).
from lit.llvm.subst import ToolSubst
target_cpu = os.environ.get("LATHE_TEST_TARGET_CPU")
tools = ["lathe-opt", "lathe-compile",
         ToolSubst("lathe-compress", extra_args=["--target-cpu=" + target_cpu] if target_cpu else None),
         ToolSubst("lathe-train", extra_args=["--target-cpu=" + target_cpu] if target_cpu else None),
         ToolSubst("lathe-run", extra_args=["--target-cpu=" + target_cpu] if target_cpu else None)]
llvm_config.add_tool_substitutions(tools, [config.lathe_tools_dir])

# The CUDA target (built when CMake found a CUDA toolkit): `cuda` for tests of
# the lowering, `ptxas` for tests that assemble its PTX, `cuda-device` for
# tests that run on a GPU (only where the runtime finds a device).
if getattr(config, "lathe_cuda", False):
    config.available_features.add("cuda")
    if config.lathe_ptxas and os.path.exists(config.lathe_ptxas):
        config.available_features.add("ptxas")
        config.substitutions.append(("%ptxas", config.lathe_ptxas))
    if os.path.exists("/dev/nvidia0") or os.path.exists("/dev/nvidiactl"):
        config.available_features.add("cuda-device")

# Pass statistics (--mlir-pass-statistics) count only in an LLVM built with
# them (assertions on, or LLVM_FORCE_ENABLE_STATS); Debian's release build
# compiles them out and prints an empty report. Ask a pass that has some.
import subprocess
def _pass_statistics_count():
    tool = os.path.join(config.lathe_tools_dir, "lathe-opt")
    ir = ("func.func @f(%a: i32) -> i32 { %0 = arith.addi %a, %a : i32 "
          "%1 = arith.addi %a, %a : i32 %2 = arith.addi %0, %1 : i32 "
          "return %2 : i32 }")
    try:
        run = subprocess.run([tool, "--cse", "--mlir-pass-statistics", "-o", os.devnull],
                             input=ir, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return "num-cse'd" in run.stderr
if _pass_statistics_count():
    config.available_features.add("pass-statistics")

# lathe-run's compile cache: one folder for the whole suite (runs of the same
# module with the same options hit across tests), never the user's ~/.cache.
config.environment["LATHE_CACHE_DIR"] = os.path.join(config.test_exec_root, "lathe-cache")
config.environment["LATHE_CACHE_MAX_MB"] = "512"
