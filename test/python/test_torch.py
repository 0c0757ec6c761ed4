"""PyTorch tensors in (through DLPack, sharing their memory), tensors out;
checked against a PyTorch model built from the same weights."""
import os

import h5py
import numpy as np
import pytest
import torch

import lathe


@pytest.fixture(scope="module")
def mlp(examples):
    return lathe.compile(os.path.join(examples, "mlp", "mlp_hdf5.mlir"))


def torch_mlp(examples):
    """The digits MLP in PyTorch, from the weights file the model reads."""
    layers = []
    with h5py.File(os.path.join(examples, "mlp", "mlp_weights.h5")) as f:
        for name in ("fc1", "fc2", "fc3"):
            w = torch.from_numpy(f[name]["weight"][:])
            lin = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(w)
                lin.bias.copy_(torch.from_numpy(f[name]["bias"][:]))
            layers += [lin, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def test_torch_tensors_in_and_out(examples, mlp):
    x = torch.from_numpy(np.load(os.path.join(examples, "mlp", "test_x.npy")))
    y = mlp(x)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32 and tuple(y.shape) == (360, 10)
    with torch.no_grad():
        ref = torch_mlp(examples)(x.double().float())
    torch.testing.assert_close(y, ref, rtol=1e-4, atol=1e-4)
    # The same as NumPy in.
    np.testing.assert_array_equal(y.numpy(), mlp(x.numpy()))


def test_dlpack_shares_memory(mlp):
    """Contiguous inputs of the right dtype are passed without a copy."""
    t = torch.rand(5, 64)
    view = lathe._to_numpy(0, t, mlp.signature.inputs[0])
    assert np.shares_memory(view, t.numpy())
    a = np.random.rand(5, 64).astype(np.float32)
    assert lathe._to_numpy(0, a, mlp.signature.inputs[0]) is a
    before = t.clone()
    mlp(t)
    assert torch.equal(t, before)  # borrowed inputs are not written


def test_requires_grad_and_strided_tensors(mlp):
    base = torch.rand(6, 128)
    strided = base[:, ::2]  # a non-contiguous view: made contiguous (one copy)
    assert not strided.is_contiguous()
    torch.testing.assert_close(mlp(strided), mlp(strided.contiguous()), rtol=0, atol=0)
    w = torch.rand(3, 64, requires_grad=True)
    torch.testing.assert_close(mlp(w), mlp(w.detach().clone()), rtol=0, atol=0)


def test_torch_dtype_mismatch(mlp):
    with pytest.raises(lathe.Error, match=r"expected dtype float32 \(tensor<\?x64xf32>\), got float64"):
        mlp(torch.rand(2, 64, dtype=torch.float64))
