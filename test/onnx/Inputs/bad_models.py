#!/usr/bin/env python3
"""Writes a model that lathe-import-onnx rejects at the model level or in a
shared building block (see import-errors.test).

usage: bad_models.py CASE OUT.onnx

The models are written without running the ONNX checker, so that the
importer meets them as a user would.
"""
import sys

import numpy as np
from onnx import ModelProto, TensorProto, helper, numpy_helper
import onnx


def vi(name, shape, elt=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elt, shape)


def model(nodes, inputs, outputs, inits=(), opset=13, opsets=None):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(
        g, opset_imports=opsets or [helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def add_model(inits=(), x="x", y="w", xshape=(2, 3)):
    return model([helper.make_node("Add", [x, y], ["z"], name="a")],
                 [vi("x", list(xshape))], [vi("z", list(xshape))], inits)


def case(name):
    if name == "no_graph":
        m = ModelProto()
        m.ir_version = 8
        m.opset_import.extend([helper.make_opsetid("", 13)])
        return m
    if name == "checker":
        # A node reads a value nothing defines.
        return model([helper.make_node("Relu", ["nothing"], ["z"], name="r")],
                     [vi("x", [2])], [vi("z", [2])])
    if name == "not_tensor":
        seq = helper.make_tensor_sequence_value_info("x", TensorProto.FLOAT,
                                                     [2])
        return model([helper.make_node("Identity", ["x"], ["z"], name="i")],
                     [seq], [vi("z", [2])])
    if name == "element_type":
        return model([helper.make_node("Identity", ["x"], ["z"], name="i")],
                     [vi("x", [2], TensorProto.UINT16)],
                     [vi("z", [2], TensorProto.UINT16)])
    if name == "raw_bytes":
        w = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
        w.raw_data = w.raw_data[:8]
        return add_model([w])
    if name == "element_count":
        w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 3])
        w.float_data.extend([1.0, 2.0])
        return add_model([w])
    if name == "no_default_opset":
        # No node: only the default domain's operators would need it.
        return model([], [vi("x", [2])], [vi("x", [2])],
                     opsets=[helper.make_opsetid("com.example", 1)])
    if name == "output_not_computed":
        return model([helper.make_node("Relu", ["x"], ["z"], name="r")],
                     [vi("x", [2])], [vi("z", [2]), vi("x2", [2])])
    if name == "output_type":
        return model([helper.make_node("Relu", ["x"], ["z"], name="r")],
                     [vi("x", [2])], [vi("z", [2], TensorProto.INT64)])
    if name == "output_shape":
        return model([helper.make_node("Relu", ["x"], ["z"], name="r")],
                     [vi("x", [2])], [vi("z", [3])])
    if name == "lacks_input":
        return model([helper.make_node("Max", ["x", ""], ["z"], name="m")],
                     [vi("x", [2])], [vi("z", [2])])
    if name == "shape_operand":
        s = numpy_helper.from_array(np.array([[2, 3]], np.int64), "s")
        return model([helper.make_node("Expand", ["x", "s"], ["z"], name="e")],
                     [vi("x", [3])], [vi("z", [2, 3])], [s])
    if name == "divide_by_zero":
        zero = numpy_helper.from_array(np.array([0], np.int64), "zero")
        return model([helper.make_node("Shape", ["x"], ["s"], name="shape"),
                      helper.make_node("Div", ["s", "zero"], ["z"], name="d")],
                     [vi("x", [2, 3])], [vi("z", [2], TensorProto.INT64)],
                     [zero])
    if name == "broadcast":
        return model([helper.make_node("Add", ["x", "y"], ["z"], name="a")],
                     [vi("x", [2, 3]), vi("y", [4, 3])], [vi("z", [4, 3])])
    if name == "trilu_k":
        k = numpy_helper.from_array(np.zeros((0,), np.int64), "k")
        return model([helper.make_node("Trilu", ["x", "k"], ["z"], name="t")],
                     [vi("x", [2, 2])], [vi("z", [2, 2])], [k], opset=14)
    if name == "cumsum_axis":
        return model(
            [helper.make_node("CumSum", ["x", "axis"], ["z"], name="c")],
            [vi("x", [2, 2]), vi("axis", [0], TensorProto.INT64)],
            [vi("z", [2, 2])])
    raise SystemExit(f"unknown case {name}")


onnx.save(case(sys.argv[1]), sys.argv[2])
