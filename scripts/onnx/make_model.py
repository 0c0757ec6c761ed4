#!/usr/bin/env python3
"""Writes small hand-built ONNX models for the importer's tests.

usage: make_model.py CASE OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inputs, outputs, inits=(), opset=14, name="test_graph"):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="make_model.py")
    m.ir_version = 8
    return m


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def case(name):
    if name == "add":
        return model([helper.make_node("Add", ["x", "w"], ["y"], name="add0")],
                     [vi("x", ["batch", 4])], [vi("y", ["batch", 4])],
                     [numpy_helper.from_array(np.arange(4, dtype=np.float32), "w")])
    if name == "weights":
        w = np.random.RandomState(0).randn(4, 8).astype(np.float32)
        b = np.linspace(-1, 1, 8).astype(np.float32)
        return model([helper.make_node("MatMul", ["x", "fc/w"], ["h"]),
                      helper.make_node("Add", ["h", "fc.b"], ["y"])],
                     [vi("x", ["n", 4])], [vi("y", ["n", 8])],
                     [numpy_helper.from_array(w, "fc/w"),
                      numpy_helper.from_array(b, "fc.b")])
    if name == "rt_matmul_k":
        # Both contracted sizes are symbolic: their equality is a run-time check.
        return model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm0")],
                     [vi("a", [3, "k"]), vi("b", ["k2", 2])], [vi("y", [3, 2])])
    if name == "rt_matvec_broadcast":
        # A matrix-vector product (collapsed to rank 1) added to a vector of
        # a symbolic size: the broadcast check traces the product's size
        # through the collapse.
        return model([helper.make_node("MatMul", ["x", "v"], ["h"], name="mv0"),
                      helper.make_node("Add", ["h", "c"], ["y"], name="add0")],
                     [vi("x", ["n", 4]), vi("v", [4]), vi("c", ["m"])],
                     [vi("y", ["n"])])
    if name == "batchnorm_mixed":
        # Opset 15: scale and bias (T2) may be another float type than x.
        return model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                       epsilon=1e-5)],
                     [vi("x", [2, 3, 2])], [vi("y", [2, 3, 2])],
                     [numpy_helper.from_array(np.array([1.0, 2.0, 3.0]), "s"),
                      numpy_helper.from_array(np.array([0.5, 0.0, -0.5]), "b"),
                      numpy_helper.from_array(np.array([0.1, 0.2, 0.3], np.float32), "m"),
                      numpy_helper.from_array(np.array([1.0, 4.0, 9.0], np.float32), "v")],
                     opset=15)
    if name == "unsupported":
        return model([helper.make_node("Add", ["x", "x"], ["a"]),
                      helper.make_node("Hardmax", ["a"], ["b"]),
                      helper.make_node("Shrink", ["b"], ["c"]),
                      helper.make_node("Hardmax", ["c"], ["y"])],
                     [vi("x", [2, 3])], [vi("y", [2, 3])])
    if name in ("opset9", "opset18"):
        return model([helper.make_node("Relu", ["x"], ["y"])],
                     [vi("x", [2, 3])], [vi("y", [2, 3])],
                     opset=9 if name == "opset9" else 18)
    if name == "noshape":
        # The input's rank is not declared.
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
        return model([helper.make_node("Relu", ["x"], ["y"])], [x], [vi("y", [2])])
    if name == "unresolvable":
        # Reshape to a shape whose length is only known at run time.
        return model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape0")],
                     [vi("x", [2, 6]), vi("shape", ["k"], TensorProto.INT64)],
                     [vi("y", ["a", "b"])])
    if name == "dynreshape":
        # Reshape's shape is a graph input: the result shape comes at run time.
        return model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                     [vi("x", [2, 6]), vi("shape", [2], TensorProto.INT64)],
                     [vi("y", ["a", "b"])])
    if name in ("softmax11", "softmax13", "logsoftmax11", "logsoftmax13"):
        # Softmax-11 coerces the input to 2-D at axis; Softmax-13 works along it.
        op = "LogSoftmax" if name.startswith("log") else "Softmax"
        return model([helper.make_node(op, ["x"], ["y"], axis=1)],
                     [vi("x", [2, 3, 4])], [vi("y", [2, 3, 4])], opset=int(name[-2:]))
    # Run-time checks: shape-like inputs whose values the declared types
    # fix at import time, and symbolic sizes that must agree.
    I64 = TensorProto.INT64
    if name == "rt_reshape":
        # Reshape to a declared [3, 4] by a shape given at run time.
        return model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape0")],
                     [vi("x", [2, 6]), vi("shape", [2], I64)], [vi("y", [3, 4])])
    if name == "rt_reshape_len":
        # ... by a shape whose length is only known at run time.
        return model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape0")],
                     [vi("x", [2, 6]), vi("shape", ["k"], I64)], [vi("y", [3, 4])])
    if name == "rt_reshape_count":
        # A symbolic input reshaped to a declared [n, 4].
        return model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape0")],
                     [vi("x", ["m", 6]), vi("shape", [2], I64)], [vi("y", ["n", 4])])
    if name == "rt_expand":
        return model([helper.make_node("Expand", ["x", "shape"], ["y"], name="expand0")],
                     [vi("x", [3, 1]), vi("shape", [2], I64)], [vi("y", [3, 4])])
    if name == "rt_broadcast":
        # Two symbolic sizes of one broadcast dimension.
        return model([helper.make_node("Add", ["a", "b"], ["y"], name="add0")],
                     [vi("a", ["n", 4]), vi("b", ["m", 4])], [vi("y", ["n", 4])])
    if name == "rt_static_vs_symbolic":
        return model([helper.make_node("Mul", ["a", "b"], ["y"], name="mul0")],
                     [vi("a", [3, 4]), vi("b", ["m", 4])], [vi("y", [3, 4])])
    if name == "rt_batch_matmul":
        # Two symbolic batch sizes of a batched MatMul.
        return model([helper.make_node("MatMul", ["a", "b"], ["y"], name="matmul0")],
                     [vi("a", ["n", 2, 3]), vi("b", ["m", 3, 4])], [vi("y", ["n", 2, 4])])
    if name == "rt_split":
        return model([helper.make_node("Split", ["x", "split"], ["y0", "y1"], name="split0", axis=1)],
                     [vi("x", [2, 6]), vi("split", [2], I64)],
                     [vi("y0", [2, 2]), vi("y1", [2, 4])])
    if name == "rt_unsqueeze":
        return model([helper.make_node("Unsqueeze", ["x", "axes"], ["y"], name="unsqueeze0")],
                     [vi("x", [3, 4]), vi("axes", [1], I64)], [vi("y", [3, 1, 4])])
    if name == "rt_squeeze":
        return model([helper.make_node("Squeeze", ["x", "axes"], ["y"], name="squeeze0")],
                     [vi("x", [1, 3, 1]), vi("axes", [1], I64)], [vi("y", [3, 1])])
    if name == "rt_reducesum":
        return model([helper.make_node("ReduceSum", ["x", "axes"], ["y"], name="reduce0", keepdims=1)],
                     [vi("x", [2, 3, 4]), vi("axes", [1], I64)], [vi("y", [2, 1, 4])])
    if name == "rt_slice":
        return model([helper.make_node("Slice", ["x", "starts", "ends"], ["y"], name="slice0")],
                     [vi("x", [10]), vi("starts", [1], I64), vi("ends", [1], I64)],
                     [vi("y", [4])])
    # Data-dependent indices, checked at run time.
    if name == "idx_gather":
        # An embedding lookup: token ids into a [100, 8] table.
        table = np.random.RandomState(0).randn(100, 8).astype(np.float32)
        return model([helper.make_node("Gather", ["table", "ids"], ["y"], name="embed0", axis=0)],
                     [vi("ids", ["n"], I64)], [vi("y", ["n", 8])],
                     [numpy_helper.from_array(table, "table")])
    if name == "idx_gather_elements":
        # indices' rows are symbolic: that they do not exceed x's is checked.
        return model([helper.make_node("GatherElements", ["x", "idx"], ["y"], name="gatherel0", axis=1)],
                     [vi("x", [3, 4]), vi("idx", ["n", 2], I64)], [vi("y", ["n", 2])])
    if name == "idx_scatter_elements":
        return model([helper.make_node("ScatterElements", ["x", "idx", "upd"], ["y"], name="scatter0",
                                       axis=1, reduction="add")],
                     [vi("x", [3, 4]), vi("idx", [3, 2], I64), vi("upd", [3, 2])], [vi("y", [3, 4])],
                     opset=16)
    if name == "reshape_allowzero":
        # allowzero: a 0 in the shape is a size of 0, not a copy.
        return model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape0", allowzero=1)],
                     [vi("x", [2, 3]), vi("shape", [2], I64)], [vi("y", ["a", "b"])])
    raise SystemExit(f"unknown case {name}")


if __name__ == "__main__":
    onnx.save(case(sys.argv[1]), sys.argv[2])
