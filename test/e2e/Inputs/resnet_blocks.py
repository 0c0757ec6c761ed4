"""resnet_blocks.py DIR [--stem-pool]: a small ResNet (stem, a bottleneck
block with an identity shortcut, one with a strided 1x1 projection shortcut, a
basic block, global average pooling, fc) in eval mode with non-trivial
batch-norm statistics, exported by PyTorch to DIR/model.onnx (opset 13,
batch-norm folded into the convolutions by the exporter), with DIR/x.npy and
PyTorch's output DIR/ref.npy. --stem-pool: torchvision's stem instead (7x7/2
convolution, 3x3/2 max pooling with padding 1) feeding a basic block whose
identity shortcut is the pooled map, then a bottleneck with a strided
projection shortcut; a batch of 2 3x32x32 images."""
import os
import sys

import numpy as np
import torch
from torch import nn


def bn(c):
    return nn.BatchNorm2d(c)


class Bottleneck(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        out = planes * 4
        self.body = nn.Sequential(
            nn.Conv2d(cin, planes, 1, bias=False), bn(planes), nn.ReLU(),
            nn.Conv2d(planes, planes, 3, stride, 1, bias=False), bn(planes), nn.ReLU(),
            nn.Conv2d(planes, out, 1, bias=False), bn(out))
        self.down = None
        if stride != 1 or cin != out:
            self.down = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), bn(out))

    def forward(self, x):
        return torch.relu(self.body(x) + (x if self.down is None else self.down(x)))


class Basic(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), bn(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), bn(c))

    def forward(self, x):
        return torch.relu(self.body(x) + x)


torch.manual_seed(0)
stem_pool = "--stem-pool" in sys.argv[2:]
if stem_pool:
    model = nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), bn(64), nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
        Basic(64),               # identity shortcut: the pooled map
        Bottleneck(64, 32, 2),   # projection shortcut, stride 2 (64 -> 128)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))
else:
    model = nn.Sequential(
        nn.Conv2d(3, 64, 3, 1, 1, bias=False), bn(64), nn.ReLU(),
        Bottleneck(64, 16, 1),   # identity shortcut (64 -> 64)
        Bottleneck(64, 32, 2),   # projection shortcut, stride 2 (64 -> 128)
        Basic(128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))
for m in model.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-0.2, 0.2)
        m.running_var.uniform_(0.5, 1.5)
        m.weight.data.uniform_(0.5, 1.5)
        m.bias.data.uniform_(-0.2, 0.2)
model.eval()
out = sys.argv[1]
x = torch.randn(2, 3, 32, 32) if stem_pool else torch.randn(2, 3, 16, 16)
with torch.no_grad():
    ref = model(x)
torch.onnx.export(model, x, os.path.join(out, "model.onnx"), opset_version=13,
                  input_names=["x"], output_names=["y"])
np.save(os.path.join(out, "x.npy"), x.numpy())
np.save(os.path.join(out, "ref.npy"), ref.numpy())
