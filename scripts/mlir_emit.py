"""A tiny text emitter for linalg-on-tensors MLIR (used by gen_examples.py).

Values are `Val(name, shape)`; a `None` in a shape is the single dynamic
dimension of the function (the batch), whose SSA size is `Emitter.dyn_size`.
Every op helper returns a new Val, so a model reads like its PyTorch forward.

Weights are emitted either as `arith.constant dense_resource<NAME>` with the
bytes in the file's `dialect_resources` section, or (external mode) as
`lathe.weight #lathe.external<"FILE", "/DATASET">`.
"""
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Val:
    name: str
    shape: tuple

    @property
    def ty(self):
        return tensor_type(self.shape)


@dataclass(frozen=True)
class IVal(Val):
    """A value whose element type is not f32 (an i1 mask by default)."""
    elt: str = "i1"

    @property
    def ty(self):
        return tensor_type(self.shape, self.elt)


def tensor_type(shape, elt="f32"):
    dims = ["?" if d is None else str(d) for d in shape]
    return "tensor<" + "x".join(dims + [elt]) + ">"


def f32_lit(v):
    """An MLIR f32 literal that round-trips exactly (inf as hex bits)."""
    v = np.float32(v)
    if np.isinf(v):
        return "0xFF800000" if v < 0 else "0x7F800000"
    return repr(float(v))


def affine_map(ndims, results):
    """results: the loop dims the map selects, e.g. (0, 2), or its result
    expressions as text, e.g. 'd0, d1 + d4'."""
    dims = ", ".join(f"d{i}" for i in range(ndims))
    res = results if isinstance(results, str) else ", ".join(f"d{i}" for i in results)
    return f"affine_map<({dims}) -> ({res})>"


def resource_hex(arr):
    """dense_resource blob text: 4-byte alignment header then little-endian data."""
    data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
    return "0x04000000" + data.hex().upper()


# Indexing maps of matmul-like ops (m, n, k) and batch matmuls (b, m, n, k).
MM_MAPS = {  # transposed B: C[m,n] += A[m,k] * B[n,k]
    True: [(0, 2), (1, 2), (0, 1)],
    False: [(0, 2), (2, 1), (0, 1)],
}
BMM_MAPS = {
    True: [(0, 1, 3), (0, 2, 3), (0, 1, 2)],
    False: [(0, 1, 3), (0, 3, 2), (0, 1, 2)],
}


class Body:
    """Builds the scalar region of a linalg.generic."""

    def __init__(self, em, indent):
        self.em, self.indent, self.lines = em, indent, []

    def op(self, text, hint="t"):
        name = self.em.fresh(hint)
        self.lines.append(f"{self.indent}{name} = {text}")
        return name

    def const(self, v):
        return self.op(f"arith.constant {f32_lit(v)} : f32", "c")

    def addf(self, a, b):
        return self.op(f"arith.addf {a}, {b} : f32")

    def subf(self, a, b):
        return self.op(f"arith.subf {a}, {b} : f32")

    def mulf(self, a, b):
        return self.op(f"arith.mulf {a}, {b} : f32")

    def divf(self, a, b):
        return self.op(f"arith.divf {a}, {b} : f32")

    def maxf(self, a, b):
        return self.op(f"arith.maximumf {a}, {b} : f32")

    def exp(self, a):
        return self.op(f"math.exp {a} : f32")

    def rsqrt(self, a):
        return self.op(f"math.rsqrt {a} : f32")


class Emitter:
    def __init__(self, weight_file=None):
        self.lines = []
        self.resources = {}  # name -> hex text
        self.counter = 0
        self.dyn_size = None
        self.weight_file = weight_file  # None: dense_resource blobs
        self.ind = "  "

    # -- basics -------------------------------------------------------------
    def fresh(self, hint):
        self.counter += 1
        return f"%{hint}_{self.counter}"

    def emit(self, text, hint, shape):
        v = Val(self.fresh(hint), tuple(shape))
        self.lines.append(f"{self.ind}{v.name} = {text}")
        return v

    def set_dynamic_batch(self, arg):
        c0 = self.fresh("c0")
        self.lines.append(f"{self.ind}{c0} = arith.constant 0 : index")
        self.dyn_size = self.fresh("batch")
        self.lines.append(f"{self.ind}{self.dyn_size} = tensor.dim {arg.name}, {c0} : {arg.ty}")

    def weight(self, key, arr, hint="w"):
        """key 'fc1.weight' -> resource 'fc1_weight' or HDF5 dataset '/fc1/weight'."""
        arr = np.asarray(arr, dtype=np.float32)
        if self.weight_file is not None:
            path = "/" + key.replace(".", "/")
            return self.emit(f'lathe.weight #lathe.external<"{self.weight_file}", "{path}"> : '
                             f"{tensor_type(arr.shape)}", hint, arr.shape)
        name = key.replace(".", "_")
        if name in self.resources:
            assert self.resources[name] == resource_hex(arr), f"resource {name} redefined"
        self.resources[name] = resource_hex(arr)
        return self.emit(f"arith.constant dense_resource<{name}> : {tensor_type(arr.shape)}",
                         hint, arr.shape)

    def empty(self, shape):
        dyn = f"({self.dyn_size})" if None in shape else "()"
        return self.emit(f"tensor.empty{dyn} : {tensor_type(shape)}", "e", shape)

    def filled(self, shape, value):
        e = self.empty(shape)
        c = self.fresh("cst")
        self.lines.append(f"{self.ind}{c} = arith.constant {f32_lit(value)} : f32")
        return self.emit(f"linalg.fill ins({c} : f32) outs({e.name} : {e.ty}) -> {e.ty}", "fill", shape)

    # -- linalg.generic -------------------------------------------------------
    def generic(self, ins, maps, iters, out_shape, body_fn, init=None, hint="g", elts=None,
                out_elt="f32"):
        """maps: one per input plus one for the output, each a tuple of loop dims or result
        expressions as text (affine_map); body_fn(Body, *block args) -> yielded value;
        elts: the element types of the inputs (f32 unless given)."""
        n = len(iters)
        out = init if init is not None else self.empty(out_shape)
        amaps = ", ".join(affine_map(n, m) for m in maps)
        its = ", ".join(f'"{t}"' for t in iters)
        ins_s = ", ".join(v.name for v in ins)
        ins_t = ", ".join(v.ty for v in ins)
        args = [self.fresh("in") for _ in ins] + [self.fresh("out")]
        body = Body(self, self.ind * 2)
        result = body_fn(body, *args)
        elts = elts or ["f32"] * len(ins)
        block = ", ".join(f"{a}: {t}" for a, t in zip(args, elts + [out_elt]))
        head = (f"linalg.generic {{indexing_maps = [{amaps}], iterator_types = [{its}]}} "
                f"ins({ins_s} : {ins_t}) outs({out.name} : {out.ty}) {{")
        v = self.emit(head, hint, out_shape)
        self.lines.append(f"{self.ind}^bb0({block}):")
        self.lines.extend(body.lines)
        self.lines.append(f"{self.ind * 2}linalg.yield {result} : {out_elt}")
        self.lines.append(f"{self.ind}}} -> {out.ty}")
        return v

    def elementwise(self, ins, body_fn, hint="g", bcast=None):
        """Elementwise over ins[0]'s shape; bcast maps input index -> its loop dims."""
        shape = ins[0].shape
        ident = tuple(range(len(shape)))
        maps = [(bcast or {}).get(i, ident) for i in range(len(ins))] + [ident]
        return self.generic(ins, maps, ["parallel"] * len(shape), shape, body_fn, hint=hint)

    def bias_add(self, x, b):  # x[..., n] + b[n]
        last = (len(x.shape) - 1,)
        return self.elementwise([x, b], lambda bb, a, c, o: bb.addf(a, c), "bias", {1: last})

    def add(self, x, y, hint="add"):
        return self.elementwise([x, y], lambda bb, a, c, o: bb.addf(a, c), hint)

    def relu(self, x):
        return self.elementwise([x], lambda bb, a, o: bb.maxf(a, bb.const(0.0)), "relu")

    def scale(self, x, s):
        return self.elementwise([x], lambda bb, a, o: bb.mulf(a, bb.const(s)), "scaled")

    def reduce_last(self, ins, bcast_last, body_fn, init_value, hint="red"):
        """Reduce the last dim of ins[0]; inputs in bcast_last are indexed without it."""
        shape = ins[0].shape
        n = len(shape)
        full, outer = tuple(range(n)), tuple(range(n - 1))
        maps = [outer if i in bcast_last else full for i in range(len(ins))] + [outer]
        init = self.filled(shape[:-1], init_value)
        iters = ["parallel"] * (n - 1) + ["reduction"]
        return self.generic(ins, maps, iters, shape[:-1], body_fn, init=init, hint=hint)

    def transpose_generic(self, v, perm, hint="t"):
        """out[i0, i1, ...] = v[...] with out dim k = v dim perm[k], as a generic (torch-mlir's
        aten.t / aten.transpose lowering)."""
        shape = tuple(v.shape[p] for p in perm)
        n = len(shape)
        src = [0] * n
        for k, p in enumerate(perm):
            src[p] = k
        return self.generic([v], [tuple(src), tuple(range(n))], ["parallel"] * n, shape,
                            lambda b, a, o: a, hint=hint)

    def softmax_decomposed(self, x):
        """Softmax over the last dim as torch-mlir decomposes it: max reduction, subtract + exp,
        sum reduction, divide."""
        outer = {1: tuple(range(len(x.shape) - 1))}
        mx = self.reduce_last([x], (), lambda b, a, o: b.maxf(a, o), -np.inf, "max")
        ex = self.elementwise([x, mx], lambda b, a, m, o: b.exp(b.subf(a, m)), "exp", outer)
        sm = self.reduce_last([ex], (), lambda b, a, o: b.addf(a, o), 0.0, "sum")
        return self.elementwise([ex, sm], lambda b, a, s, o: b.divf(a, s), "probs", outer)

    def bool_constant(self, mask, hint="mask"):
        """An i1 constant holding the bool ndarray `mask`."""
        def lit(a):
            if a.ndim == 1:
                return "[" + ", ".join("true" if t else "false" for t in a) + "]"
            return "[" + ", ".join(lit(r) for r in a) + "]"
        v = self.emit(f"arith.constant dense<{lit(mask)}> : {tensor_type(mask.shape, 'i1')}",
                      hint, mask.shape)
        return IVal(v.name, v.shape)

    def masked_attention(self, q, k, v, mask, mask_map, masked_when_true, fill):
        """softmax(mask(q·kᵀ / sqrt(D))) · v on [B, H, S, D] in the form torch-mlir writes it:
        kᵀ by a transposing generic, batch_matmuls on [B·H, ...] collapses, the scale as a divide
        generic, masked_fill as an arith.select generic on an i1 constant of the bool ndarray
        `mask` (mask_map: its affine results over (b, h, i, j); where it is true the score is
        replaced by `fill` if masked_when_true, kept otherwise), the softmax decomposed.
        Returns [B, H, S, D]."""
        B, H, S, D = q.shape
        kt = self.transpose_generic(k, (0, 1, 3, 2), "kt")
        q3 = self.collapse(q, [[0, 1], [2], [3]])
        kt3 = self.collapse(kt, [[0, 1], [2], [3]])
        sc = self.expand(self.batch_matmul(q3, kt3, transpose_b=False, hint="scores"),
                         [[0, 1], [2], [3]], (B, H, S, S))
        sc = self.generic([sc], ["d0, d1, d2, d3"] * 2, ["parallel"] * 4, sc.shape,
                          lambda bb, a, o: bb.divf(a, bb.const(math.sqrt(D))), hint="scaled")
        m = self.bool_constant(mask)

        def select(bb, a, mv, o):
            f = bb.const(fill)
            if masked_when_true:
                return bb.op(f"arith.select {mv}, {f}, {a} : f32", "sel")
            return bb.op(f"arith.select {mv}, {a}, {f} : f32", "sel")
        masked = self.generic([sc, m], ["d0, d1, d2, d3", mask_map, "d0, d1, d2, d3"],
                              ["parallel"] * 4, sc.shape, select, hint="masked",
                              elts=["f32", m.elt])
        pr = self.softmax_decomposed(masked)
        ctx = self.batch_matmul(self.collapse(pr, [[0, 1], [2], [3]]),
                                self.collapse(v, [[0, 1], [2], [3]]), transpose_b=False,
                                hint="ctx")
        return self.expand(ctx, [[0, 1], [2], [3]], (B, H, S, D))

    # -- named ops --------------------------------------------------------------
    def matmul(self, a, b, transpose_b, hint="mm"):
        """a[m,k] @ b (b is [n,k] if transpose_b else [k,n]).

        transpose_b uses indexing_maps; otherwise the plain named op is printed."""
        n = b.shape[0] if transpose_b else b.shape[1]
        shape = (a.shape[0], n)
        init = self.filled(shape, 0.0)
        maps = ""
        if transpose_b:
            maps = "indexing_maps = [" + ", ".join(affine_map(3, m) for m in MM_MAPS[True]) + "] "
        return self.emit(f"linalg.matmul {maps}ins({a.name}, {b.name} : {a.ty}, {b.ty}) "
                         f"outs({init.name} : {init.ty}) -> {init.ty}", hint, shape)

    def matmul_generic(self, a, b, hint="mmg"):
        """a[m,k] @ b[k,n] written as a linalg.generic."""
        shape = (a.shape[0], b.shape[1])
        init = self.filled(shape, 0.0)
        return self.generic([a, b], MM_MAPS[False], ["parallel", "parallel", "reduction"], shape,
                            lambda bb, x, y, o: bb.addf(o, bb.mulf(x, y)), init=init, hint=hint)

    def batch_matmul(self, a, b, transpose_b, hint="bmm"):
        n = b.shape[1] if transpose_b else b.shape[2]
        shape = (a.shape[0], a.shape[1], n)
        init = self.filled(shape, 0.0)
        maps = ""
        if transpose_b:
            maps = "indexing_maps = [" + ", ".join(affine_map(4, m) for m in BMM_MAPS[True]) + "] "
        return self.emit(f"linalg.batch_matmul {maps}ins({a.name}, {b.name} : {a.ty}, {b.ty}) "
                         f"outs({init.name} : {init.ty}) -> {init.ty}", hint, shape)

    def softmax(self, x, dim):
        e = self.empty(x.shape)
        return self.emit(f"linalg.softmax dimension({dim}) ins({x.name} : {x.ty}) "
                         f"outs({e.name} : {e.ty}) -> {e.ty}", "softmax", x.shape)

    def transpose(self, x, perm, hint="tr"):
        shape = tuple(x.shape[p] for p in perm)
        e = self.empty(shape)
        p = ", ".join(map(str, perm))
        return self.emit(f"linalg.transpose ins({x.name} : {x.ty}) outs({e.name} : {e.ty}) "
                         f"permutation = [{p}]", hint, shape)

    # -- tensor reshapes ---------------------------------------------------------
    @staticmethod
    def _reassoc(groups):
        return "[" + ", ".join("[" + ", ".join(map(str, g)) + "]" for g in groups) + "]"

    def collapse(self, x, groups, hint="collapsed"):
        shape = tuple(int(np.prod([x.shape[i] for i in g])) for g in groups)
        return self.emit(f"tensor.collapse_shape {x.name} {self._reassoc(groups)} : "
                         f"{x.ty} into {tensor_type(shape)}", hint, shape)

    def expand(self, x, groups, shape, hint="expanded"):
        osh = ", ".join(map(str, shape))
        return self.emit(f"tensor.expand_shape {x.name} {self._reassoc(groups)} output_shape [{osh}] : "
                         f"{x.ty} into {tensor_type(shape)}", hint, shape)

    # -- module text ---------------------------------------------------------------
    def function(self, name, args, result, header=""):
        sig = ", ".join(f"{a.name}: {a.ty}" for a in args)
        out = [header] if header else []
        out.append(f"func.func @{name}({sig}) -> {result.ty} {{")
        out.extend(self.lines)
        out.append(f"{self.ind}return {result.name} : {result.ty}")
        out.append("}")
        if self.resources:
            out.append("")
            out.append("{-#")
            out.append("  dialect_resources: {")
            out.append("    builtin: {")
            items = [f"      {k}: \"{v}\"" for k, v in self.resources.items()]
            out.append(",\n".join(items))
            out.append("    }")
            out.append("  }")
            out.append("#-}")
        return "\n".join(out) + "\n"
