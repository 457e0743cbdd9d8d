#!/usr/bin/python3
"""Train ftcodec's model zoo: three more split models on Fashion-MNIST, of different families.

Development-time tool (Debian's python3-torch); the product never needs Python. Beside the
reference ResNet (scripts/train_reference.py, fmnist_resnet) it trains, each from the same seed:

  fmnist_vgg        plain VGG-style CNN, no BatchNorm (conv3x3 + ReLU stacks, max-pooling)
                    head input: pixels in [0, 1] (a caller multiplies 0..255 pixels by 1/255)
                    s1  64 x 14 x 14  post-ReLU
                    s2  128 x 7 x 7   post-ReLU
  fmnist_mobilenet  MobileNetV2-style inverted residual blocks (depthwise-separable, BatchNorm,
                    ReLU6, linear bottlenecks)
                    head input: raw pixels 0..255 (normalisation inside the head)
                    s1  64 x 14 x 14  post-ReLU6: block 1's expanded activation after its
                                      stride-2 depthwise conv (inside the block, before the
                                      linear projection)
                    s2  96 x 7 x 7    signed: the output of a linear-bottleneck block
  fmnist_mixer      small MLP-Mixer (4x4 patches -> 49 tokens of width 64, 6 blocks with
                    LayerNorm, token- and channel-mixing MLPs with GELU)
                    head input: pixels in [0, 1]
                    s1  49 x 64       signed: the residual token stream after 3 of the 6 blocks
                                      (a rank-3 N x 49 x 64 tensor)

Training: AdamW with a one-cycle learning rate, batch 128, random horizontal flips (and random
shifts of up to 2 pixels for the two CNNs); 3 epochs for the VGG and the MobileNet, 6 for the
Mixer (--epochs overrides). Each model reseeds torch and numpy with --seed before it is built,
so `--only NAME` gives the same model as the full run (up to BLAS/thread nondeterminism).

For each model NAME and split SPLIT it writes data/models/NAME_SPLIT_head.pt and _tail.pt
(TorchScript, torch.jit.trace) and data/models/NAME.json (accuracy, shapes, command, seed, time).
Heads take float32 N x 1 x 28 x 28 (scaled as said above, see "input_scale" in the json); tails
return N x 10 logits. After saving, every split is reloaded with torch.jit.load and run on the
whole test set, and its features' range and zero fraction are printed.

Command used for the committed files (--log-every only adds progress lines):
  /usr/bin/python3 scripts/train_zoo.py --threads 2 --seed 1 --log-every 100
"""
import argparse, gzip, json, os, shlex, struct, sys, time
# With --threads 2 on a 2-core machine that is also busy with other work, OpenMP threads that
# spin while they wait for each other slow training down several times; let them sleep instead.
# (libgomp reads this when torch loads it, so it must be set before the import.)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530
UNIT = 1.0 / 255.0  # "input_scale" of a head that expects pixels in [0, 1]


def load_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def augment(x, shift=True):
    # Random horizontal flip and (if shift) a random shift of up to 2 pixels (zero = black
    # padding), per sample.
    n = x.shape[0]
    flip = torch.rand(n) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if not shift:
        return x
    p = F.pad(x, (2, 2, 2, 2))
    dx = torch.randint(0, 5, (n,))
    dy = torch.randint(0, 5, (n,))
    ar = torch.arange(28)
    idx_y = dy[:, None] + ar[None, :]  # n x 28
    idx_x = dx[:, None] + ar[None, :]
    out = p[:, 0][torch.arange(n)[:, None, None], idx_y[:, :, None], idx_x[:, None, :]]
    return out.unsqueeze(1)


# ---------------------------------------------------------------------------------------------
# fmnist_vgg: conv3x3 + ReLU stacks, max-pooling, no normalisation layers. Input in [0, 1].

def conv_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, 1, 1), nn.ReLU()]


class VGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.f1 = nn.Sequential(*conv_relu(1, 32), nn.MaxPool2d(2),       # 32 x 14 x 14
                                *conv_relu(32, 64))                         # s1: 64 x 14 x 14
        self.f2 = nn.Sequential(*conv_relu(64, 64), nn.MaxPool2d(2),      # 64 x 7 x 7
                                *conv_relu(64, 128))                        # s2: 128 x 7 x 7
        self.f3 = nn.Sequential(*conv_relu(128, 128), nn.MaxPool2d(2), nn.Flatten(),  # 128 x 3 x 3
                                nn.Linear(128 * 3 * 3, 128), nn.ReLU(), nn.Linear(128, 10))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def parts(self):
        # The network as a chain of stages; a split after stage k cuts between k-1 and k.
        return [self.f1, self.f2, self.f3]

    def forward(self, x):
        for p in self.parts():
            x = p(x)
        return x


class Pool(nn.Module):
    """Global average pooling + linear classifier."""
    def __init__(self, fc, pre=None):
        super().__init__()
        self.pre = pre if pre is not None else nn.Identity()
        self.fc = fc

    def forward(self, x):
        return self.fc(self.pre(x).mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# fmnist_mobilenet: MobileNetV2-style inverted residuals. Input: raw pixels 0..255.

class Normalise(nn.Module):
    def forward(self, x):
        return (x / 255.0 - MEAN) / STD


def conv_bn(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """1x1 expand (+BN+ReLU6) -> 3x3 depthwise (+BN+ReLU6) -> 1x1 linear projection (+BN),
    with an identity skip when the shape is kept."""
    def __init__(self, cin, cout, t, stride):
        super().__init__()
        hid = cin * t
        self.expand = conv_bn(cin, hid, 1)
        self.dw = conv_bn(hid, hid, 3, stride, groups=hid)
        self.project = conv_bn(hid, cout, 1, act=False)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.project(self.dw(self.expand(x)))
        return x + y if self.skip else y


class MobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = Normalise()
        self.stem = conv_bn(1, 16, 3)                      # 16 x 28 x 28
        self.b1 = InvertedResidual(16, 24, 4, 2)           # hidden 64, 28 -> 14; s1 inside
        self.b2 = InvertedResidual(24, 24, 4, 1)
        self.b3 = InvertedResidual(24, 48, 4, 2)           # 14 -> 7
        self.b4 = InvertedResidual(48, 48, 4, 1)
        self.b5 = InvertedResidual(48, 96, 4, 1)           # s2: 96 x 7 x 7, linear bottleneck
        self.b6 = InvertedResidual(96, 96, 2, 1)
        self.last = conv_bn(96, 256, 1)
        self.fc = nn.Linear(256, 10)

    def parts(self):
        # s1 cuts block 1 after its depthwise conv: the head ends on a post-ReLU6 64 x 14 x 14
        # tensor, the tail starts with block 1's projection (block 1 has no skip, so nothing else
        # crosses the cut).
        return [nn.Sequential(self.norm, self.stem, self.b1.expand, self.b1.dw),
                nn.Sequential(self.b1.project, self.b2, self.b3, self.b4, self.b5),
                Pool(self.fc, nn.Sequential(self.b6, self.last))]

    def forward(self, x):
        for p in self.parts():
            x = p(x)
        return x


# ---------------------------------------------------------------------------------------------
# fmnist_mixer: MLP-Mixer on 4x4 patches. Input in [0, 1].

class MixerBlock(nn.Module):
    def __init__(self, tokens, dim, tok_hidden, ch_hidden):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.tok = nn.Sequential(nn.Linear(tokens, tok_hidden), nn.GELU(), nn.Linear(tok_hidden, tokens))
        self.ln2 = nn.LayerNorm(dim)
        self.ch = nn.Sequential(nn.Linear(dim, ch_hidden), nn.GELU(), nn.Linear(ch_hidden, dim))

    def forward(self, x):  # N x tokens x dim
        x = x + self.tok(self.ln1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.ch(self.ln2(x))


class Embed(nn.Module):
    """N x 1 x 28 x 28 -> N x 49 x dim (one token per 4x4 patch, row-major)."""
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, 4, 4)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TokenPool(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, 10)

    def forward(self, x):
        return self.fc(self.ln(x).mean(dim=1))


class Mixer(nn.Module):
    DIM, DEPTH = 64, 6

    def __init__(self):
        super().__init__()
        d = self.DIM
        self.embed = Embed(d)
        self.blocks = nn.Sequential(*[MixerBlock(49, d, 128, 4 * d) for _ in range(self.DEPTH)])
        self.pool = TokenPool(d)

    def parts(self):
        h = self.DEPTH // 2
        return [nn.Sequential(self.embed, *self.blocks[:h]), nn.Sequential(*self.blocks[h:]), self.pool]

    def forward(self, x):
        for p in self.parts():
            x = p(x)
        return x


# ---------------------------------------------------------------------------------------------

UNIT_INPUT = "float32 N x 1 x 28 x 28, pixel values in [0, 1] (multiply 0..255 IDX pixels by 1/255; " \
             "no normalisation inside the head)"
RAW_INPUT = "float32 N x 1 x 28 x 28, pixel values 0..255 (normalisation inside the head)"

ZOO = {
    "fmnist_vgg": dict(
        family="VGG-style CNN without BatchNorm", build=VGG, input=UNIT_INPUT, input_scale=UNIT,
        splits={"s1": (1, [64, 14, 14], "post-relu"), "s2": (2, [128, 7, 7], "post-relu")},
        epochs=3, lr=3e-3, wd=5e-4, label_smoothing=0.0, shift=True),
    "fmnist_mobilenet": dict(
        family="MobileNetV2-style (inverted residuals, depthwise-separable, BatchNorm, ReLU6)",
        build=MobileNet, input=RAW_INPUT, input_scale=1.0,
        splits={"s1": (1, [64, 14, 14], "post-relu"), "s2": (2, [96, 7, 7], "signed")},
        epochs=3, lr=4e-3, wd=1e-4, label_smoothing=0.0, shift=True),
    "fmnist_mixer": dict(
        family="MLP-Mixer (4x4 patches, 49 tokens, LayerNorm, GELU)", build=Mixer, input=UNIT_INPUT,
        input_scale=UNIT, splits={"s1": (1, [49, Mixer.DIM], "tokens (signed)")},
        epochs=6, lr=3e-3, wd=1e-2, label_smoothing=0.0, shift=False),
}


class Head(nn.Module):
    def __init__(self, parts):
        super().__init__()
        self.parts = nn.Sequential(*parts)

    def forward(self, x):
        return self.parts(x)


Tail = Head


def accuracy(fn, x, y):
    with torch.no_grad():
        pred = np.concatenate([fn(x[i:i + 1000]).argmax(1).numpy() for i in range(0, len(x), 1000)])
    return float((pred == y).mean() * 100)


def train_one(name, spec, a, data):
    xtr_raw, ytr, xte_raw, yte = data
    epochs = a.epochs if a.epochs else spec["epochs"]
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    scale = spec["input_scale"]
    xtr, xte = xtr_raw * scale, xte_raw * scale
    net = spec["build"]()
    nparams = sum(p.numel() for p in net.parameters())
    print(f"== {name}: {spec['family']}, {nparams} parameters, {epochs} epochs", flush=True)
    bs = a.batch
    steps_per_epoch = len(xtr) // bs
    decay = [p for p in net.parameters() if p.dim() > 1]
    no_decay = [p for p in net.parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": spec["wd"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=spec["lr"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec["lr"], total_steps=epochs * steps_per_epoch,
                                                pct_start=0.25)
    t0 = time.time()
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr))
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * bs:(i + 1) * bs]
            out = net(augment(xtr[idx], spec["shift"]))
            loss = F.cross_entropy(out, ytr[idx], label_smoothing=spec["label_smoothing"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == ytr[idx]).sum().item()
            total += len(idx)
            if a.log_every and (i + 1) % a.log_every == 0:
                print(f"  step {i + 1}/{steps_per_epoch} loss {loss_sum / total:.3f} "
                      f"({time.time() - t0:.0f} s)", flush=True)
        net.eval()
        acc = accuracy(net, xte, yte)
        print(f"{name} epoch {ep + 1}/{epochs} train loss {loss_sum / total:.3f} train acc "
              f"{100.0 * correct / total:.2f}% test top-1 {acc:.2f}% ({time.time() - t0:.0f} s)", flush=True)
    train_seconds = time.time() - t0
    net.eval()
    acc = accuracy(net, xte, yte)
    print(f"{name}: test top-1 (10,000 images): {acc:.2f}%, trained in {train_seconds:.0f} s", flush=True)

    os.makedirs(a.models, exist_ok=True)
    parts = net.parts()
    example = xte[:2]
    with torch.no_grad():
        full = net(example)
    for sname, (cut, shape, kind) in spec["splits"].items():
        head, tail = Head(parts[:cut]).eval(), Tail(parts[cut:]).eval()
        with torch.no_grad():
            feat = head(example)
            assert list(feat.shape[1:]) == shape, (name, sname, feat.shape, shape)
            th = torch.jit.trace(head, example)
            tt = torch.jit.trace(tail, feat)
            assert torch.allclose(tt(th(example)), full, atol=1e-4), (name, sname)
        hp = os.path.join(a.models, f"{name}_{sname}_head.pt")
        tp = os.path.join(a.models, f"{name}_{sname}_tail.pt")
        th.save(hp)
        tt.save(tp)
        # Check the saved files: reload, run the whole test set through head -> tail.
        lh, lt = torch.jit.load(hp), torch.jit.load(tp)
        sacc = accuracy(lambda x: lt(lh(x)), xte, yte)
        with torch.no_grad():
            f = lh(xte[:256])
        print(f"{name} {sname}: {kind} {list(f.shape[1:])} min {f.min().item():.3f} max {f.max().item():.3f} "
              f"mean {f.mean().item():.3f} zeros {(f == 0).float().mean().item() * 100:.1f}% "
              f"negative {(f < 0).float().mean().item() * 100:.1f}% (256 test images); "
              f"reloaded head+tail top-1 {sacc:.2f}%; {os.path.getsize(hp)} + {os.path.getsize(tp)} bytes",
              flush=True)
        assert abs(sacc - acc) < 0.05, (name, sname, sacc, acc)
        if kind == "post-relu":
            assert f.min().item() >= 0.0, (name, sname)
        else:
            assert f.min().item() < 0.0 < f.max().item(), (name, sname)

    meta = {
        "model": name, "family": spec["family"], "dataset": "Fashion-MNIST (dataset-fashion-mnist)",
        "input": spec["input"], "input_scale": spec["input_scale"],
        "splits": {s: v[1] for s, v in spec["splits"].items()},
        "split_kinds": {s: v[2] for s, v in spec["splits"].items()},
        "parameters": nparams,
        "test_top1": round(acc, 2), "epochs": epochs, "seed": a.seed,
        "command": "/usr/bin/python3 " + " ".join(shlex.quote(s) for s in sys.argv),
        "torch": torch.__version__, "train_seconds": round(train_seconds),
    }
    with open(os.path.join(a.models, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return acc, train_seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--models", default="data/models", help="output directory")
    ap.add_argument("--only", choices=sorted(ZOO), help="train just this model")
    ap.add_argument("--epochs", type=int, default=0, help="override every model's number of epochs")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--log-every", type=int, default=0, help="print the running loss every N steps")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    xtr = torch.tensor(load_idx("train-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1)
    ytr = torch.tensor(load_idx("train-labels-idx1-ubyte.gz"), dtype=torch.long)
    xte = torch.tensor(load_idx("t10k-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1)
    yte = load_idx("t10k-labels-idx1-ubyte.gz")
    t0 = time.time()
    results = {}
    for name, spec in ZOO.items():
        if a.only and name != a.only:
            continue
        results[name] = train_one(name, spec, a, (xtr, ytr, xte, yte))
    for name, (acc, secs) in results.items():
        print(f"{name}: test top-1 {acc:.2f}%, trained in {secs:.0f} s")
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
