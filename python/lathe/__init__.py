"""Lathe from Python: compile an MLIR or ONNX model, call it on arrays.

    import lathe, numpy as np
    m = lathe.compile("model.mlir")            # or a .onnx path, or an onnx.ModelProto
    y = m(np.zeros((4, 64), np.float32))       # NumPy in, NumPy out (PyTorch: torch out)
    m.signature, m.report()
    m = lathe.load("model.lathe")              # compiled ahead of time by lathe-compile

See docs/Python.md.
"""

import collections
import json
import os
import statistics
import sys
import tempfile
import threading

import numpy as np


def _load_extension():
    # Generated code is linked against the runtime (libLatheRuntime, LLVM's
    # libomp, MLIR's runner utils) by looking its symbols up in the process's
    # global scope, which an extension loaded RTLD_LOCAL (Python's default)
    # and its libraries are not part of.
    flags = sys.getdlopenflags()
    sys.setdlopenflags(flags | os.RTLD_GLOBAL)
    try:
        from . import _lathe as native
    finally:
        sys.setdlopenflags(flags)
    return native


_native = _load_extension()

#: Raised for every failure Lathe reports (bad file, option, input, a failed
#: run-time check), with the message the command-line tools print.
Error = _native.Error

__all__ = ["Error", "Module", "Signature", "TensorSpec", "compile", "load", "train"]

TensorSpec = collections.namedtuple("TensorSpec", ["name", "dtype", "shape"])
TensorSpec.__doc__ = """One argument or result: name, NumPy dtype name, shape (None: dynamic)."""


class Signature(collections.namedtuple("Signature", ["inputs", "results"])):
    """The entry's arguments and results, as lists of TensorSpec."""

    def __str__(self):
        def fmt(specs):
            return ", ".join(
                "%s: %s[%s]" % (s.name, s.dtype, ", ".join("?" if d is None else str(d) for d in s.shape))
                for s in specs)
        return "(%s) -> (%s)" % (fmt(self.inputs), fmt(self.results))


_COMPILE_OPTIONS = {
    "entry": str, "pipeline": str, "pass_pipeline": str, "fast_math": str,
    "target_cpu": str, "target": str, "threads": int, "cache_dir": str, "no_cache": bool,
}


def _is_torch_tensor(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "__dlpack__")


def _to_numpy(i, x, spec):
    """A C-contiguous NumPy view of `x` without a copy where possible."""
    if isinstance(x, np.ndarray):
        return x if x.flags.c_contiguous else np.ascontiguousarray(x)
    if _is_torch_tensor(x):
        if x.device.type != "cpu":
            raise Error("input #%d is a tensor on '%s'; the cpu backend takes CPU tensors" % (i, x.device))
        x = x.detach()
        try:
            a = np.from_dlpack(x)  # shares the tensor's memory
        except (TypeError, RuntimeError, BufferError):
            a = x.numpy()  # dtypes NumPy's DLPack import lacks (bool); still shared
        return a if a.flags.c_contiguous else np.ascontiguousarray(a)
    if hasattr(x, "__dlpack__"):
        a = np.from_dlpack(x)
        return a if a.flags.c_contiguous else np.ascontiguousarray(a)
    # Lists and scalars take the argument's dtype.
    return np.ascontiguousarray(np.asarray(x, dtype=spec.dtype if spec else None))


class Module:
    """A compiled module. Call it with one array per argument of its entry.

    Inputs: NumPy arrays (C-contiguous arrays of the argument's dtype are
    passed without a copy; others are made contiguous), PyTorch tensors
    (through DLPack, sharing their memory), anything else with __dlpack__, or
    nested lists. Results: one NumPy array per result (one copy out of the
    runtime's memory), PyTorch tensors when any input was one; a single result
    is returned as is, several as a tuple. Calls release the GIL and may run
    concurrently from several threads.
    """

    def __init__(self, native, source):
        self._native = native
        self._source = source
        self._signature = Signature(
            [TensorSpec(d["name"], d["dtype"], d["shape"]) for d in native.inputs],
            [TensorSpec(d["name"], d["dtype"], d["shape"]) for d in native.results])
        self._lock = threading.Lock()
        self._times = []
        self._peak = None
        self._last = None

    @property
    def signature(self):
        """Signature(inputs=[TensorSpec...], results=[TensorSpec...])."""
        return self._signature

    def __call__(self, *args):
        specs = self._signature.inputs
        arrays, torch_in = [], False
        for i, x in enumerate(args):
            torch_in = torch_in or _is_torch_tensor(x)
            arrays.append(_to_numpy(i, x, specs[i] if i < len(specs) else None))
        outputs, stats = self._native.call(arrays)
        with self._lock:
            self._times.append(stats["ms"])
            if stats["peak_memory_bytes"] is not None:
                self._peak = max(self._peak or 0, stats["peak_memory_bytes"])
            self._last = stats
        if torch_in:
            import torch
            outputs = [torch.from_numpy(o) for o in outputs]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def report(self):
        """What lathe-run's --report says, for this module's calls so far.

        Compilation: file, entry, backend, pipeline, compile_ms, precision,
        compile_cache, constant_data_bytes, target_cpu, fast_math, flops,
        flops_complete. Calls: calls, latency_ms (last, min, median),
        peak_memory_bytes (the highest over the calls; None for a loaded
        .lathe file), kernels (per kernel
        kind of the last call: ms and calls, plus generated_code: the rest of
        the call's time). The kernel profile is process-wide: with calls
        running at once in several threads, each call's kernels include the
        others'.
        """
        report = self._native.info()
        with self._lock:
            times, last, peak = list(self._times), self._last, self._peak
        report["calls"] = len(times)
        report["latency_ms"] = ({"last": times[-1], "min": min(times), "median": statistics.median(times)}
                                if times else None)
        report["peak_memory_bytes"] = peak
        kernels = {}
        if last is not None:
            kernels = {k: dict(v) for k, v in last["kernels"].items()}
            kernels["generated_code"] = {
                "ms": max(0.0, last["ms"] - sum(v["ms"] for v in kernels.values())), "calls": 1}
        report["kernels"] = kernels
        return report

    def __repr__(self):
        return "<lathe.Module %s %s>" % (self._source, self._signature)


def compile(model, backend="cpu", precision="f32", options=None, target=None):
    """Compiles `model` with lathe-run's pipeline and returns a Module.

    model: a path to a .mlir file or a .onnx file, or an onnx.ModelProto.
    backend: "cpu". precision: "f32" or "bf16".
    options: a dict of lathe-run's other compile flags, spelled with
    underscores (or dashes): entry, pipeline, pass_pipeline, fast_math,
    target_cpu, target, threads, cache_dir, no_cache.
    target: a JSON target description (lathe-calibrate's; lathe-run
    --target), attached as the module's #lathe.target.
    Raises lathe.Error with lathe-run's message.
    """
    opts = {"backend": backend, "precision": precision}
    if target is not None:
        opts["target"] = os.fspath(target)
    for key, value in (options or {}).items():
        name = str(key).replace("-", "_")
        if name not in _COMPILE_OPTIONS:
            raise Error("unknown option '%s' (expected one of: %s)" % (key, ", ".join(sorted(_COMPILE_OPTIONS))))
        kind = _COMPILE_OPTIONS[name]
        if kind is bool and not isinstance(value, bool) or kind is int and (
                isinstance(value, bool) or not isinstance(value, int)) or kind is str and not isinstance(value, str):
            raise Error("option '%s' expects a %s, got %r" % (key, kind.__name__, value))
        opts[name] = value
    if hasattr(model, "SerializeToString") and hasattr(model, "graph"):
        with tempfile.TemporaryDirectory(prefix="lathe-") as tmp:
            path = os.path.join(tmp, "model.onnx")
            with open(path, "wb") as f:
                f.write(model.SerializeToString())
            return Module(_native.compile_file(path, opts), "<onnx.ModelProto>")
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError("lathe.compile expects a path (.mlir, .onnx) or an onnx.ModelProto, got %s"
                        % type(model).__name__)
    path = os.fspath(model)
    return Module(_native.compile_file(path, opts), path)


def load(path, threads=None):
    """Loads a module compiled ahead of time (lathe-compile's .lathe file).

    No compilation and no MLIR: the runtime's Model.h API (docs/Deploy.md)
    links the file's native code into the process. Calls, signature and
    errors are those of a compiled Module; report() has the file's metadata
    (entry, target, cpu_features, precision, source, fast_math) and the
    calls' latency and kernels, without peak memory (the model's session is
    its own). threads: the model's thread count (default: all cores).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError("lathe.load expects a path to a .lathe file, got %s" % type(path).__name__)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise Error("threads must be an int >= 1, got %r" % (threads,))
    path = os.fspath(path)
    return Module(_native.load(path, threads or 0), path)


_TRAIN_OPTIONS = {
    "loss": str, "labels": str, "freeze": list, "params": str, "data": str, "val_data": str,
    "batch": int, "epochs": int, "steps": int, "optimizer": str, "lr": float, "min_lr": float,
    "schedule": str, "warmup_steps": int, "momentum": float, "weight_decay": float,
    "clip_norm": float, "seed": int, "shuffle": bool, "save": str, "checkpoint": str,
    "checkpoint_every": int, "resume": bool, "log": str, "threads": int, "target_cpu": str,
    "target": str, "no_cache": bool, "attention_min_scores": int,
}


def train(model, **options):
    """Trains `model` (a .mlir path) in this process, as lathe-train does.

    Options are lathe-train's flags with underscores: data (HDF5), loss
    ("cross-entropy" or "mse", to build @loss from @main), labels, freeze
    (list of names), params, val_data, batch, epochs, steps, optimizer, lr,
    min_lr, schedule, warmup_steps, momentum, weight_decay, clip_norm, seed,
    shuffle, save (HDF5 of the trained parameters), checkpoint,
    checkpoint_every, resume, log, threads, target_cpu, target (a JSON target
    description), no_cache, attention_min_scores. One process only (lathe-train --ranks for more).
    Returns {"log": [one dict per line of lathe-train's --log], "save": path
    or None}. Raises lathe.Error with lathe-train's message.
    """
    opts = {}
    for key, value in options.items():
        name = str(key).replace("-", "_")
        if name in ("ranks", "ranks_per_node", "comm"):
            raise Error("lathe.train runs in this process; '%s' (several ranks) needs the lathe-train tool" % key)
        if name not in _TRAIN_OPTIONS:
            raise Error("unknown option '%s' (expected one of: %s)" % (key, ", ".join(sorted(_TRAIN_OPTIONS))))
        kind = _TRAIN_OPTIONS[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is list:
            if isinstance(value, str):
                value = [v for v in value.split(",") if v]
            value = [str(v) for v in value]
        elif kind is bool and not isinstance(value, bool) or kind is int and (
                isinstance(value, bool) or not isinstance(value, int)) or kind in (str, float) and not isinstance(
                    value, kind):
            raise Error("option '%s' expects a %s, got %r" % (key, kind.__name__, value))
        if kind is str and name in ("params", "data", "val_data", "save", "checkpoint", "log"):
            value = os.fspath(value)
        opts[name] = value
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError("lathe.train expects a path to a .mlir file, got %s" % type(model).__name__)
    with tempfile.TemporaryDirectory(prefix="lathe-train-") as tmp:
        log_path = opts.get("log") or os.path.join(tmp, "log.jsonl")
        opts["log"] = log_path
        sys.stdout.flush()
        rc, text = _native.train(os.fspath(model), opts)
        if rc != 0:
            errors = [line.split("error: ", 1)[1] for line in text.splitlines() if "error: " in line]
            raise Error("\n".join(errors) if errors else text.strip() or "lathe-train failed (exit code %d)" % rc)
        log = []
        if os.path.exists(log_path):
            with open(log_path) as f:
                log = [json.loads(line) for line in f if line.strip()]
    return {"log": log, "save": opts.get("save")}
