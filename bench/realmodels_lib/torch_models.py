"""PyTorch models of bench/realmodels that reach every contender as ONNX (torch.onnx.export).

  gpt2_block   a GPT-2-style decoder block: pre-LN, causal self-attention written as GPT-2 writes
               it (a lower-triangular buffer, masked_fill with -inf, softmax), GELU in its tanh
               form (GPT-2's gelu_new, spelled out), d 768, 12 heads, seq 64, batch 1
  lstm_cls     text classifier: Embedding(1000, 64) -> LSTM(64, 128) -> last hidden -> Linear(4),
               batch 4 of 32 tokens (int64 token ids)
  gru_cls      the same with a GRU

Seeded random weights; biases and LayerNorm parameters made non-trivial. The transformer encoder
layer and the ResNets come from bench/peers_lib/models.py and resnet.py.
"""
import math

import torch
from torch import nn

GPT2_D, GPT2_HEADS, GPT2_SEQ = 768, 12, 64
RNN_VOCAB, RNN_EMB, RNN_HIDDEN, RNN_CLASSES = 1000, 64, 128, 4
RNN_BATCH, RNN_SEQ = 4, 32


def _nontrivial(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "ln" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias") or name.startswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
    return module.eval()


class GPT2Block(nn.Module):
    def __init__(self, d=GPT2_D, heads=GPT2_HEADS, seq=GPT2_SEQ):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)
        self.register_buffer("causal", torch.tril(torch.ones(seq, seq)).view(1, 1, seq, seq))

    @staticmethod
    def gelu_new(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))

    def attn(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.causal[:, :, :t, :t] == 0, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(self.gelu_new(self.c_fc(self.ln_2(x))))


class RNNClassifier(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.emb = nn.Embedding(RNN_VOCAB, RNN_EMB)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(RNN_EMB, RNN_HIDDEN, batch_first=True)
        self.fc = nn.Linear(RNN_HIDDEN, RNN_CLASSES)

    def forward(self, tokens):
        out, _ = self.rnn(self.emb(tokens))
        return self.fc(out[:, -1, :])


def gpt2_block():
    """(module, input) with seeded weights."""
    torch.manual_seed(11)
    m = _nontrivial(GPT2Block())
    x = torch.randn(1, GPT2_SEQ, GPT2_D)
    return m, x


def rnn_classifier(cell):
    torch.manual_seed(12 if cell == "lstm" else 13)
    m = _nontrivial(RNNClassifier(cell))
    tokens = torch.randint(0, RNN_VOCAB, (RNN_BATCH, RNN_SEQ), dtype=torch.int64)
    return m, tokens


def gpt2_flops():
    t, d = GPT2_SEQ, GPT2_D
    return 2 * t * d * d * 12 + 2 * 2 * t * t * d


def rnn_flops(cell):
    gates = 4 if cell == "lstm" else 3
    return 2 * RNN_BATCH * RNN_SEQ * gates * RNN_HIDDEN * (RNN_EMB + RNN_HIDDEN) + \
        2 * RNN_BATCH * RNN_HIDDEN * RNN_CLASSES
