"""Short, seeded training of the test models on synthetic tasks.

Quantisation accuracy is a property of trained networks: a network with
random weights and BatchNorm is chaotic (a small perturbation of one layer's
output grows layer by layer), so its quantised output SQNR measures that
chaos rather than the quantiser. The quantisation acceptance test therefore
uses the same architectures after a few hundred SGD steps on a task they can
learn here without a dataset:

- images: oriented sinusoidal gratings, one orientation band per class, with
  a random colour mix, phase and additive noise (classification, 10 classes);
- token sequences: the class is the most frequent of 8 token groups
  (token id modulo 8), the sequence otherwise random; trained through the
  encoder's pooled output and a temporary linear head.

The inputs written for these models (calibration and test samples) come from
the same task distribution, as a user's calibration data would.
"""
import math

import numpy as np
import torch
import torch.nn as nn

CLASSES = 10
TOKEN_GROUPS = 8


def grating_images(n, shape, gen):
    """n images [n, C, H, W] and their labels."""
    _, c, h, w = shape
    y = torch.randint(0, CLASSES, (n,), generator=gen)
    ang = y.float() * math.pi / CLASSES + 0.1 * torch.randn(n, generator=gen)
    freq = 0.15 + 0.05 * (y % 3).float()
    ii, jj = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    phase = torch.rand(n, generator=gen) * 2 * math.pi
    wave = torch.sin(freq[:, None, None] * (ii * torch.cos(ang)[:, None, None] + jj * torch.sin(ang)[:, None, None])
                     + phase[:, None, None])
    colour = torch.randn(n, c, generator=gen)
    x = wave[:, None] * colour[:, :, None, None] + 0.3 * torch.randn(n, c, h, w, generator=gen)
    return x, y


def token_sequences(n, shape, vocab, gen):
    """n sequences [n, T] of token ids; label = the most frequent id % 8 (ties: lowest)."""
    t = shape[1]
    y = torch.randint(0, TOKEN_GROUPS, (n,), generator=gen)
    ids = torch.randint(0, vocab, (n, t), generator=gen)
    # plant extra tokens of the label's group so it is the most frequent one
    plant = torch.rand(n, t, generator=gen) < 0.5
    base = torch.randint(0, vocab // TOKEN_GROUPS, (n, t), generator=gen) * TOKEN_GROUPS + y[:, None]
    ids = torch.where(plant, base, ids)
    counts = torch.stack([(ids % TOKEN_GROUPS == g).sum(1) for g in range(TOKEN_GROUPS)], 1)
    return ids, counts.argmax(1)


def task_sample(spec, rng_seed):
    """One input (numpy, the spec's dtype and shape) from the task distribution."""
    gen = torch.Generator().manual_seed(int(rng_seed))
    if spec["dtype"] == np.int64:
        x, _ = token_sequences(1, spec["shape"], spec["high"], gen)
        return x.numpy().astype(np.int64).reshape(spec["shape"])
    x, _ = grating_images(1, spec["shape"], gen)
    return x.numpy().astype(np.float32).reshape(spec["shape"])


def train(model, spec, seed, steps=300, batch=32, lr=0.02):
    """Train `model` in place on the task matching its (single) input spec;
    returns the final training loss (printed by the exporter)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    tokens = spec["dtype"] == np.int64
    head = None
    if tokens:
        dim = model.pooler.dense.out_features
        head = nn.Linear(dim, TOKEN_GROUPS)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = 0.1
    params = list(model.parameters()) + (list(head.parameters()) if head else [])
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    # SGD with momentum for the BatchNorm CNNs, Adam for the transformers
    opt = (torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4) if has_bn
           else torch.optim.Adam(params, lr=1e-3))
    model.train()
    loss = None
    for _ in range(steps):
        if tokens:
            x, y = token_sequences(batch, spec["shape"], spec["high"], gen)
            logits = head(model(x)[1])
        else:
            x, y = grating_images(batch, spec["shape"], gen)
            logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
    model.eval()
    return float(loss)
