"""PyTorch eager from Python, the baseline of bench/gpu/check.sh: the steps a user would write
instead of cap, at the base shape (L12/H768/A12/I3072), batch 32, sequence 128, on the same
device and in the same precision as cap_bench_cap.

  cross-entropy step: forward, cross-entropy, backward, clip_grad_norm_(1.0), torch.optim.AdamW
  inference: dense, and compacted to 50% of heads and 50% of FFN neurons (eval, no gradients)

BERT is written out here (post-LayerNorm, erf GELU, additive mask, tanh pooler: Hugging Face's
semantics, as cap's host/model/bert.cpp) so that nothing beyond torch is needed. Prints one JSON
object.

  python3 bench/gpu/eager_steps.py --device cuda --precision bfloat16 [--steps 20] [--shape tiny]
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn


class Layer(nn.Module):
    def __init__(self, hidden, heads, head_dim, inter):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.q = nn.Linear(hidden, heads * head_dim)
        self.k = nn.Linear(hidden, heads * head_dim)
        self.v = nn.Linear(hidden, heads * head_dim)
        self.o = nn.Linear(heads * head_dim, hidden)
        self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
        self.i = nn.Linear(hidden, inter)
        self.out = nn.Linear(inter, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, additive):
        b, s, _ = x.shape

        def split(t):
            return t.view(b, s, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + additive
        probs = F.dropout(scores.softmax(-1), 0.1, self.training)
        ctx = (probs @ v).transpose(1, 2).reshape(b, s, self.heads * self.head_dim)
        x = self.ln1(F.dropout(self.o(ctx), 0.1, self.training) + x)
        h = F.gelu(self.i(x))
        return self.ln2(F.dropout(self.out(h), 0.1, self.training) + x)


class Bert(nn.Module):
    def __init__(self, layers=12, hidden=768, heads=12, inter=3072, vocab=30522, labels=2,
                 kept_heads=None, kept_inter=None):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(512, hidden)
        self.token_type = nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(
            Layer(hidden, kept_heads or heads, hidden // heads, kept_inter or inter) for _ in range(layers))
        self.pool = nn.Linear(hidden, hidden)
        self.cls = nn.Linear(hidden, labels)

    def forward(self, ids, mask):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.word(ids) + self.pos(pos) + self.token_type(torch.zeros_like(ids))
        x = F.dropout(self.ln(x), 0.1, self.training)
        additive = ((1.0 - mask.to(x.dtype)) * -10000.0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, additive)
        pooled = F.dropout(torch.tanh(self.pool(x[:, 0])), 0.1, self.training)
        return self.cls(pooled)


def timed(fn, steps, sync):
    fn()  # warm-up
    fn()
    sync()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return sum(times) / len(times), min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--precision", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--shape", default="base", choices=["base", "tiny"])
    args = ap.parse_args()
    device = torch.device(args.device)
    dtype = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[args.precision]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    ids = torch.randint(1000, 2000, (32, 128), device=device)
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 2, (32,), device=device)

    def autocast():
        return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)

    shape = dict(layers=12, hidden=768, heads=12, inter=3072) if args.shape == "base" else \
        dict(layers=2, hidden=128, heads=2, inter=512)
    model = Bert(**shape).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)

    def ce_step():
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = F.cross_entropy(model(ids, mask).float(), labels)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()

    ce_mean, ce_min = timed(ce_step, args.steps, sync)

    dense = Bert(**shape).to(device).eval()
    compact = Bert(**shape, kept_heads=shape["heads"] // 2, kept_inter=shape["inter"] // 2).to(device).eval()

    def infer(m):
        def run():
            with torch.no_grad(), autocast():
                m(ids, mask)
        return run

    dense_mean, dense_min = timed(infer(dense), args.steps * 2, sync)
    compact_mean, compact_min = timed(infer(compact), args.steps * 2, sync)
    print(json.dumps({
        "torch": torch.__version__, "device": str(device), "precision": args.precision, "shape": args.shape,
        "ce_step_s": ce_mean, "ce_step_fastest_s": ce_min,
        "dense_s": dense_mean, "compact_s": compact_mean,
        "dense/compact": dense_mean / compact_mean,
    }))


if __name__ == "__main__":
    main()
