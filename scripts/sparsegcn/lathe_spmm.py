"""ctypes access to the runtime's SpMM kernels (runtime/include/lathe/runtime/Sparse.h).

Memref descriptors are built the way MLIR lowers unranked memrefs: (rank, pointer to
{allocated, aligned, offset, sizes[rank], strides[rank]}), strides in elements.
"""
import ctypes
import os

import numpy as np

INDEX32 = 1 << 0
CONST_A = 1 << 1
CLASSIFY = 1 << 2
MICRO = 1 << 7  # LATHE_SPMM_MICRO
MICRO_TILE = 4  # LATHE_SPMM_MICRO_TILE
ROW_GROUPS = 1 << 8  # LATHE_SPMM_ROW_GROUPS
ROW_GROUP_MAX = 4  # LATHE_SPMM_ROW_GROUP_MAX
PERMUTED = 1 << 3
REORDER_SHIFT = 4
# Node orderings (LATHE_ORDER_*); AUTO only as a tiled-kernel flag.
ORDERS = {"none": 0, "degree": 1, "rcm": 2, "cluster": 3, "auto": 4}


def aligned_empty(shape, dtype=np.float32, align=64):
    """An uninitialised C-contiguous array whose data starts on an `align`-byte boundary, as
    the runtime's allocator hands out every buffer of compiled code. numpy's own large arrays
    start 16 bytes into a page: the CSR kernel's 64-column register blocks then straddle
    cache lines, which costs it up to 2x at F >= 64 (the GEMM packs its operand and does not
    care), so timings on numpy's arrays misjudge the engines' ratio."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    buf = np.empty(count * dtype.itemsize + align, np.uint8)
    start = (-buf.ctypes.data) % align
    return buf[start:start + count * dtype.itemsize].view(dtype).reshape(shape)


def aligned_copy(a, align=64):
    out = aligned_empty(a.shape, a.dtype, align)
    out[...] = a
    return out


def find_library(build_dir=None):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build_dir = build_dir or os.environ.get("LATHE_BUILD_DIR", os.path.join(root, "build"))
    return os.path.join(build_dir, "lib", "libLatheRuntime.so")


class Runtime:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        if not hasattr(self.lib, "lathe_rt_spmm_tiled_f32"):
            raise SystemExit(f"{path} has no sparsegcn kernels (lathe_rt_spmm_*): rebuild it")
        i64, vp = ctypes.c_int64, ctypes.c_void_p
        self.lib.lathe_rt_spmm_csr_f32.argtypes = [i64, vp] * 5 + [i64] * 3
        self.lib.lathe_rt_spmm_tiled_f32.argtypes = [i64, vp] * 7 + [i64] * 5
        self.lib.lathe_rt_take_pending_error.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        self.lib.lathe_rt_take_pending_error.restype = ctypes.c_int
        self.lib.lathe_rt_graph_order.argtypes = [i64, i64, vp, vp, ctypes.c_int, i64, vp]
        self.lib.lathe_rt_graph_order.restype = ctypes.c_int
        self._keep = []

    def _desc(self, a):
        assert a.flags["C_CONTIGUOUS"] or a.ndim == 1
        rank = a.ndim
        words = (ctypes.c_int64 * (3 + 2 * rank))()
        ptr = a.ctypes.data
        words[0] = ptr
        words[1] = ptr
        words[2] = 0
        for i in range(rank):
            words[3 + i] = a.shape[i]
            words[3 + rank + i] = a.strides[i] // a.itemsize
        self._keep.append(words)
        return rank, ctypes.cast(words, ctypes.c_void_p)

    def check(self):
        buf = ctypes.create_string_buffer(1024)
        if self.lib.lathe_rt_take_pending_error(buf, 1024):
            raise RuntimeError(buf.value.decode())

    def graph_order(self, kind, csr, max_cluster=64):
        """perm (int64 [n]) of the runtime's ordering `kind` ("degree", "rcm", "cluster");
        perm[i] is the node placed at position i."""
        n = csr.shape[0]
        rp, ci = csr.indptr, csr.indices
        index32 = rp.dtype == np.int32
        if not index32:
            rp, ci = rp.astype(np.int64), ci.astype(np.int64)
        perm = np.empty(n, np.int64)
        if self.lib.lathe_rt_graph_order(ORDERS[kind], n, rp.ctypes.data, ci.ctypes.data,
                                         int(index32), max_cluster, perm.ctypes.data):
            self.check()
        return perm

    def csr_call(self, csr, x, y, flags=0):
        """Returns a zero-argument callable that runs lathe_rt_spmm_csr_f32 into y."""
        rp, ci, v = csr.indptr, csr.indices, csr.data
        if rp.dtype == np.int32:
            flags |= INDEX32
        args = [*self._desc(rp), *self._desc(ci), *self._desc(v), *self._desc(x),
                *self._desc(y), csr.shape[0], csr.shape[1], flags]
        fn = self.lib.lathe_rt_spmm_csr_f32
        return lambda: fn(*args)

    def tiled_call(self, csr, x, y, tile, threshold=None, classes=None, flags=0, perm=None):
        """Callable running lathe_rt_spmm_tiled_f32 with the given classes (int8 array) or,
        when classes is None, runtime classification at `threshold`. With `perm` (index
        array, the type of csr's indices), csr is P A Pᵀ and row i is node perm[i]."""
        rp, ci, v = csr.indptr, csr.indices, csr.data
        if rp.dtype == np.int32:
            flags |= INDEX32
        if perm is not None:
            flags |= PERMUTED
            perm = np.ascontiguousarray(perm, dtype=rp.dtype)
            self._keep.append(perm)
        if classes is None:
            flags |= CLASSIFY
            classes = np.zeros(1, np.int8)
        ppm = int(round((threshold or 0.0) * 1e6))
        args = [*self._desc(rp), *self._desc(ci), *self._desc(v), *self._desc(classes),
                *self._desc(rp if perm is None else perm), *self._desc(x), *self._desc(y),
                csr.shape[0], csr.shape[1], tile, ppm, flags]
        self._keep.append(classes)
        fn = self.lib.lathe_rt_spmm_tiled_f32
        return lambda: fn(*args)
