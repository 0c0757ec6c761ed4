#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (scripts/fuzz.sh) into
test/fuzz/<target>/: small, real inputs of each kind. Deterministic; rerun
after adding a case and commit the files.

usage: /usr/bin/python3 test/fuzz/make_seeds.py [npy|hdf5|onnx|mlir]...
"""
import glob
import hashlib
import io
import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def out_dir(target):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    for f in glob.glob(os.path.join(d, "*")):
        os.remove(f)
    return d


def arrays():
    """Arrays of every dtype the readers support, plus shapes at the edges."""
    r = np.random.RandomState(0)
    yield "f32_2x3", r.randn(2, 3).astype(np.float32)
    yield "f64_4", r.randn(4)
    yield "f16_3x2", r.randn(3, 2).astype(np.float16)
    yield "i64_2x2x2", np.arange(8, dtype=np.int64).reshape(2, 2, 2)
    yield "i32_5", np.arange(-2, 3, dtype=np.int32)
    yield "i16_2x2", np.array([[1, -1], [300, -300]], dtype=np.int16)
    yield "i8_3", np.array([-128, 0, 127], dtype=np.int8)
    yield "u8_2x3", np.arange(6, dtype=np.uint8).reshape(2, 3)
    yield "bool_4", np.array([True, False, True, True])
    yield "f32_scalar", np.array(1.5, dtype=np.float32)
    yield "f32_0x3", np.zeros((0, 3), dtype=np.float32)
    yield "f32_1x1x1x1x2", np.ones((1, 1, 1, 1, 2), dtype=np.float32)


def npy_seeds():
    d = out_dir("npy")
    for name, a in arrays():
        np.save(os.path.join(d, name + ".npy"), a)
        if a.ndim >= 2:
            np.save(os.path.join(d, name + "_fortran.npy"), np.asfortranarray(a))
    # Format 2.0 (4-byte header length) and 3.0 (utf8 header).
    for version in [(2, 0), (3, 0)]:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.arange(6, dtype=np.float32).reshape(2, 3),
                                  version=version)
        with open(os.path.join(d, "f32_v%d.npy" % version[0]), "wb") as f:
            f.write(buf.getvalue())
    # Rejected kinds: big-endian, unsupported dtype, structured.
    np.save(os.path.join(d, "f32_bigendian.npy"), np.arange(3, dtype=">f4"))
    np.save(os.path.join(d, "u64_2.npy"), np.arange(2, dtype=np.uint64))
    np.save(os.path.join(d, "structured.npy"),
            np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")]))


def hdf5_seeds():
    import h5py
    d = out_dir("hdf5")
    for name, a in arrays():
        with h5py.File(os.path.join(d, name + ".h5"), "w") as f:
            f.create_dataset("w", data=a)
    with h5py.File(os.path.join(d, "groups.h5"), "w") as f:
        f.create_dataset("g/w", data=np.arange(6, dtype=np.float32).reshape(2, 3))
        f.create_dataset("w", data=np.arange(3, dtype=np.uint16))
    with h5py.File(os.path.join(d, "chunked.h5"), "w") as f:
        f.create_dataset("w", data=np.arange(64, dtype=np.float32).reshape(8, 8),
                         chunks=(4, 4), compression="gzip")
    with h5py.File(os.path.join(d, "kinds.h5"), "w") as f:
        f.create_dataset("w", data=np.array([b"ab", b"cd"]))  # a string type
        f.create_group("g").create_dataset("w", shape=(2,), dtype="<u8")
    with h5py.File(os.path.join(d, "null.h5"), "w") as f:
        f.create_dataset("w", data=h5py.Empty("f4"))


def onnx_seeds():
    import onnx
    d = out_dir("onnx")
    make_model = os.path.join(ROOT, "scripts", "onnx", "make_model.py")
    for case in ["add", "weights", "softmax13", "dynreshape", "rt_expand",
                 "rt_split", "rt_slice", "rt_reducesum"]:
        subprocess.check_call([sys.executable, make_model, case,
                               os.path.join(d, case + ".onnx")])
    # A spread of ONNX's own backend node tests (operators the importer
    # supports), as ONNX generates them.
    import warnings
    warnings.filterwarnings("ignore")
    for alias, typ in [("float", float), ("int", int), ("bool", bool),
                       ("object", object), ("complex", complex), ("str", str)]:
        if alias not in np.__dict__:
            setattr(np, alias, typ)
    import onnx.backend.test.case.node as node_test
    wanted = {
        "test_matmul_2d", "test_gemm_all_attributes", "test_conv_with_strides_padding",
        "test_gather_0", "test_gather_negative_indices", "test_gather_elements_0",
        "test_scatter_elements_with_axis", "test_softmax_axis_1",
        "test_layer_normalization_2d_axis0", "test_reshape_reordered_all_dims",
        "test_transpose_all_permutations_0", "test_concat_2d_axis_1",
        "test_slice_negative_axes", "test_relu", "test_reduce_mean_keepdims_example",
        "test_batchnorm_example", "test_maxpool_2d_pads", "test_averagepool_2d_strides",
        "test_where_example", "test_cast_FLOAT_to_DOUBLE", "test_expand_dim_changed",
        "test_unsqueeze_axis_0", "test_split_equal_parts_1d", "test_erf",
        "test_tanh", "test_sigmoid", "test_sqrt", "test_pow", "test_div_bcast",
        "test_clip_default_min", "test_constant", "test_shape", "test_flatten_axis1",
        "test_squeeze", "test_identity", "test_range_float_type_positive_delta",
        "test_argmax_default_axis_example", "test_equal", "test_not_2d",
        "test_einsum_batch_matmul", "test_globalaveragepool", "test_leakyrelu",
        "test_convtranspose_pads", "test_convtranspose_1d", "test_lstm_with_peepholes",
        "test_gru_defaults", "test_gru_with_initial_bias",
        "test_resize_upsample_sizes_nearest_floor_align_corners",
    }
    found = set()
    for case in node_test.collect_testcases(None):
        if case.name in wanted:
            found.add(case.name)
            with open(os.path.join(d, case.name[5:] + ".onnx"), "wb") as f:
                f.write(case.model.SerializeToString())
    missing = wanted - found
    if missing:
        print("make_seeds: no ONNX node test named", sorted(missing), file=sys.stderr)


def mlir_seeds():
    """The test suite's .mlir files, split at '// -----', without comments."""
    d = out_dir("mlir")
    seen = set()
    for path in sorted(glob.glob(os.path.join(ROOT, "test", "**", "*.mlir"),
                                 recursive=True)):
        rel = os.path.relpath(path, os.path.join(ROOT, "test"))
        if rel.startswith("fuzz" + os.sep):
            continue
        with open(path) as f:
            text = f.read()
        for i, piece in enumerate(re.split(r"^// -----$", text, flags=re.M)):
            lines = [l for l in piece.splitlines()
                     if not l.lstrip().startswith("//") and l.strip()]
            body = "\n".join(lines) + "\n"
            digest = hashlib.sha1(body.encode()).hexdigest()
            if len(body) < 16 or len(body) > 4096 or digest in seen:
                continue
            seen.add(digest)
            name = re.sub(r"[^A-Za-z0-9]+", "-", rel[:-len(".mlir")]).strip("-")
            with open(os.path.join(d, "%s-%d.mlir" % (name, i)), "w") as f:
                f.write(body)


if __name__ == "__main__":
    targets = sys.argv[1:] or ["npy", "hdf5", "onnx", "mlir"]
    for t in targets:
        {"npy": npy_seeds, "hdf5": hdf5_seeds, "onnx": onnx_seeds,
         "mlir": mlir_seeds}[t]()
