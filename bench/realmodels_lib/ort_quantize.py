"""onnxruntime static quantization for bench/realmodels' int8 section; runs under the
benchmark's virtual environment's python.

usage: ort_quantize.py MODEL_F32.onnx CALIB.npy MODEL_INT8.onnx
quantize_static as onnxruntime's quantization guide recommends for CPUs: QDQ format,
per-channel weights, MinMax calibration (the method Lathe's calibration uses too) on CALIB.npy
(the training images, fed in batches of 256), onnxruntime's default types (QInt8 activations and
weights, the S8S8 form its guide names as the first choice with QDQ). Prints one JSON line: the
version and settings used.
"""
import json
import sys

import numpy as np
import onnxruntime
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process


class Reader(CalibrationDataReader):
    def __init__(self, name, x, batch=256):
        self.feeds = iter([{name: x[i:i + batch]} for i in range(0, len(x), batch)])

    def get_next(self):
        return next(self.feeds, None)


def main():
    src, calib, dst = sys.argv[1:4]
    pre = dst + ".pre.onnx"
    quant_pre_process(src, pre)
    sess = onnxruntime.InferenceSession(src, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x = np.load(calib)
    quantize_static(pre, dst, Reader(name, x), quant_format=QuantFormat.QDQ, per_channel=True,
                    calibrate_method=CalibrationMethod.MinMax)
    print(json.dumps({"onnxruntime": onnxruntime.__version__, "format": "QDQ",
                      "per_channel": True, "activations": "QInt8", "weights": "QInt8",
                      "calibration": "MinMax"}))


if __name__ == "__main__":
    main()
