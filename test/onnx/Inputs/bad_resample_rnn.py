#!/usr/bin/env python3
"""Writes one ConvTranspose / Resize / LSTM / GRU node that the importer rejects.

usage: bad_resample_rnn.py CASE OUT.onnx

Each case is one node named 'bad' with attributes or operands the importer does not
support or that do not fit together; errors.test-style checks expect a message naming
the node and what is wrong.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def init(name, shape, dtype=np.float32, value=None):
    a = np.asarray(value, dtype=dtype) if value is not None else \
        np.random.RandomState(0).randn(*shape).astype(dtype)
    return numpy_helper.from_array(a, name)


def one(op, inputs, xshape, inits, ranks=None, opset=13, graph_inputs=(), **attrs):
    """The node `op` on graph input x (and `graph_inputs`); its outputs have
    symbolic sizes of `ranks`."""
    ranks = ranks or [len(xshape)]
    node = helper.make_node(op, inputs, [f"y{i}" for i in range(len(ranks))], name="bad",
                            **attrs)
    outs = [vi(f"y{i}", [f"s{i}_{j}" for j in range(r)]) for i, r in enumerate(ranks)]
    g = helper.make_graph([node], "g", [vi("x", xshape)] + list(graph_inputs), outs,
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def convt(xshape=(1, 4, 5, 5), wshape=(4, 2, 3, 3), inputs=("x", "w"), extra=(), **attrs):
    return one("ConvTranspose", list(inputs), list(xshape),
               [init("w", wshape)] + list(extra), **attrs)


def resize(scales=(1, 1, 2, 2), sizes=None, xshape=(1, 2, 3, 4), graph_inputs=(), **attrs):
    inits = [init("roi", None, value=[])]
    inputs = ["x", "roi"]
    if scales is not None:
        inits.append(init("scales", None, value=scales))
        inputs.append("scales")
    else:
        inputs.append("")
    if sizes is not None:
        inits.append(init("sizes", None, dtype=np.int64, value=sizes))
        inputs.append("sizes")
    return one("Resize", inputs, list(xshape), inits, graph_inputs=graph_inputs, **attrs)


def runtime_resize(name, shape, dtype):
    inputs = ["x", "", "", ""]
    inputs[2 if name == "scales" else 3] = name
    g_in = helper.make_tensor_value_info(name, dtype, shape)
    return one("Resize", inputs, [1, 2, 3, 4], [], graph_inputs=[g_in], mode="linear")


def rnn(op="LSTM", xshape=(3, 2, 4), hidden=5, dirs=1, w_rows=None, b_cols=None,
        seq_lens=None, h0_shape=None, attr_hidden=None, graph_inputs=(), **attrs):
    gates = 4 if op == "LSTM" else 3
    inits = [init("W", (dirs, w_rows or gates * hidden, xshape[-1])),
             init("R", (dirs, gates * hidden, hidden))]
    inputs = ["x", "W", "R", "", "", ""]
    if b_cols:
        inits.append(init("B", (dirs, b_cols)))
        inputs[3] = "B"
    if graph_inputs:
        inputs[4] = graph_inputs[0].name
    if seq_lens is not None:
        inits.append(init("lens", None, dtype=np.int32, value=seq_lens))
        inputs[4] = "lens"
    if h0_shape:
        inits.append(init("h0", h0_shape))
        inputs[5] = "h0"
    return one(op, inputs, list(xshape), inits, ranks=[4, 3],
               graph_inputs=graph_inputs, hidden_size=attr_hidden or hidden, **attrs)


CASES = {
    "convt_rank5": lambda: convt((1, 4, 3, 3, 3), (4, 2, 3, 3, 3)),
    "convt_channels": lambda: convt(wshape=(3, 2, 3, 3)),
    "convt_group": lambda: convt(group=3),
    "convt_output_shape": lambda: convt(output_shape=[7, 7, 7]),
    "convt_auto_pad": lambda: convt(auto_pad="SAME"),
    "convt_kernel_shape": lambda: convt(kernel_shape=[2, 2]),
    "convt_no_output": lambda: convt(pads=[3, 3, 4, 4]),
    "convt_stride0": lambda: convt(strides=[0, 1]),
    "convt_span": lambda: convt(dilations=[1 << 30, 1]),
    "convt_bias": lambda: convt(inputs=("x", "w", "b"), extra=[init("b", (3,))]),
    "resize_cubic": lambda: resize(mode="cubic"),
    "resize_mode": lambda: resize(mode="area"),
    "resize_crop": lambda: resize(coordinate_transformation_mode="tf_crop_and_resize"),
    "resize_ctm": lambda: resize(coordinate_transformation_mode="half_pixel_symmetric"),
    "resize_nearest_mode": lambda: resize(nearest_mode="round"),
    "resize_both": lambda: resize(sizes=[1, 2, 6, 8]),
    "resize_neither": lambda: resize(scales=[]),
    "resize_count": lambda: resize(scales=[2.0, 2.0]),
    "resize_sizes_count": lambda: resize(scales=[], sizes=[1, 2, 6]),
    "resize_scale0": lambda: resize(scales=[1, 1, 0, 2]),
    "resize_empty": lambda: resize(scales=[1, 1, 0.1, 2]),
    "resize_rt_scales": lambda: runtime_resize("scales", [4], TensorProto.FLOAT),
    "resize_rt_sizes": lambda: runtime_resize("sizes", [4], TensorProto.INT64),
    "resize_dyn_dim": lambda: resize(xshape=(1, 2, "h", 4)),
    "resize_empty_dim": lambda: resize(scales=[], sizes=[1, 2, 4, 4], xshape=(1, 2, 0, 4)),
    "lstm_clip": lambda: rnn(clip=1.0),
    "lstm_input_forget": lambda: rnn(input_forget=1),
    "lstm_activations": lambda: rnn(activations=["Sigmoid", "Relu", "Tanh"]),
    "gru_activations": lambda: rnn("GRU", activations=["Sigmoid", "Tanh", "Sigmoid", "Tanh"]),
    "gru_alpha": lambda: rnn("GRU", activation_alpha=[0.5]),
    "gru_lbr": lambda: rnn("GRU", linear_before_reset=2),
    "lstm_direction": lambda: rnn(direction="sideways"),
    "lstm_layout": lambda: rnn(layout=2, opset=14),
    "lstm_x_rank": lambda: rnn(xshape=(3, 4)),
    "lstm_weights": lambda: rnn(w_rows=16),
    "lstm_dirs": lambda: rnn(direction="bidirectional"),
    "gru_hidden_size": lambda: rnn("GRU", attr_hidden=4),
    "gru_bias": lambda: rnn("GRU", b_cols=15),
    "lstm_seq_lens": lambda: rnn(seq_lens=[3, 2]),
    "lstm_initial_h": lambda: rnn(h0_shape=(1, 3, 5)),
    "gru_rt_lens": lambda: rnn("GRU", graph_inputs=[
        helper.make_tensor_value_info("lens", TensorProto.INT32, [2])]),
}


def main():
    onnx.save(CASES[sys.argv[1]](), sys.argv[2])


if __name__ == "__main__":
    main()
