"""Deterministic PyTorch training shared by the example and benchmark model
generators (run with Debian's /usr/bin/python3)."""

import numpy as np
import torch


def setup_torch(seed):
    """Seeds torch and numpy; 2 threads; deterministic kernels."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)


def digits_split():
    """scikit-learn's digits scaled to [0, 1], split 80/20 (stratified, seed 0):
    x_tr, x_te, y_tr, y_te."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)


def fit_classifier(model, opt, x_tr, y_tr, epochs, seed, batch=32):
    """Cross-entropy training in shuffled mini-batches; returns the model in
    eval mode."""
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()
    return model
