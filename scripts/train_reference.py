#!/usr/bin/python3
"""Train ftcodec's reference split model and make the bundled feature tensors.

Development-time tool (Debian's python3-torch); the product never needs Python. It trains a small
ResNet on Fashion-MNIST (Debian package dataset-fashion-mnist), seeded, then writes:

  data/models/fmnist_resnet_s1_head.pt / _tail.pt   split after stage 1 (features 64x14x14)
  data/models/fmnist_resnet_s2_head.pt / _tail.pt   split after stage 2 (features 128x7x7)
  data/models/fmnist_resnet.json                    accuracy, command, seed
  data/features/fmnist_s1_relu.npy  N x 64 x 14 x 14  stage-1 output (post-ReLU, sparse)
  data/features/fmnist_s1_bn.npy    N x 64 x 14 x 14  the same point before its ReLU (post-BN + skip)
  data/features/fmnist_s2_relu.npy  N x 128 x 7 x 7   stage-2 output (post-ReLU)
  data/features/fmnist_labels.npy   N                 labels (uint8)

Heads take the raw image: float32 N x 1 x 28 x 28 with pixel values 0..255 (normalisation is
inside the head). Tails return N x 10 logits.

Command used for the committed files:
  /usr/bin/python3 scripts/train_reference.py --epochs 12 --seed 1 --threads 1
"""
import argparse, gzip, json, os, struct, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def load_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.skip = nn.Identity()
        if stride != 1 or cin != cout:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def pre_relu(self, x):
        y = F.relu(self.b1(self.c1(x)))
        return self.b2(self.c2(y)) + self.skip(x)

    def forward(self, x):
        return F.relu(self.pre_relu(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.s1 = nn.Sequential(Block(32, 64, 2), Block(64, 64, 1))
        self.s2 = nn.Sequential(Block(64, 128, 2), Block(128, 128, 1))
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.s2(self.s1(self.stem(x))).mean(dim=(2, 3)))


class Head(nn.Module):
    """Raw 0..255 image -> features at the split."""
    def __init__(self, net, split):
        super().__init__()
        self.stem, self.s1 = net.stem, net.s1
        self.s2 = net.s2 if split == 2 else nn.Identity()

    def forward(self, x):
        x = (x / 255.0 - MEAN) / STD
        return self.s2(self.s1(self.stem(x)))


class Tail(nn.Module):
    def __init__(self, net, split):
        super().__init__()
        self.s2 = net.s2 if split == 1 else nn.Identity()
        self.fc = net.fc

    def forward(self, f):
        return self.fc(self.s2(f).mean(dim=(2, 3)))


def augment(x):
    # Random horizontal flip and a random shift of up to 2 pixels (zero padded), per sample.
    n = x.shape[0]
    flip = torch.rand(n) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    p = F.pad(x, (2, 2, 2, 2))
    dx = torch.randint(0, 5, (n,))
    dy = torch.randint(0, 5, (n,))
    ar = torch.arange(28)
    idx_y = dy[:, None] + ar[None, :]  # n x 28
    idx_x = dx[:, None] + ar[None, :]
    out = p[:, 0][torch.arange(n)[:, None, None], idx_y[:, :, None], idx_x[:, None, :]]
    return out.unsqueeze(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="data/models")
    ap.add_argument("--features", default="data/features")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(a.threads)
    xtr = torch.tensor(load_idx("train-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1)
    ytr = torch.tensor(load_idx("train-labels-idx1-ubyte.gz"), dtype=torch.long)
    xte_raw = torch.tensor(load_idx("t10k-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1)
    yte = load_idx("t10k-labels-idx1-ubyte.gz")
    xtr = (xtr / 255.0 - MEAN) / STD
    xte = (xte_raw / 255.0 - MEAN) / STD
    net = Net()
    bs = 128
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = a.epochs * (len(xtr) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    t0 = time.time()
    for ep in range(a.epochs):
        net.train()
        perm = torch.randperm(len(xtr))
        for i in range(len(xtr) // bs):
            idx = perm[i * bs:(i + 1) * bs]
            loss = F.cross_entropy(net(augment(xtr[idx])), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {ep + 1}/{a.epochs} loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    net.eval()
    with torch.no_grad():
        pred = np.concatenate([net(xte[i:i + 1000]).argmax(1).numpy() for i in range(0, 10000, 1000)])
    acc = float((pred == yte).mean() * 100)
    print(f"test top-1 (10,000 images): {acc:.2f}%", flush=True)

    os.makedirs(a.models, exist_ok=True)
    example = xte_raw[:2]
    for split in (1, 2):
        head, tail = Head(net, split).eval(), Tail(net, split).eval()
        with torch.no_grad():
            feat = head(example)
            th = torch.jit.trace(head, example)
            tt = torch.jit.trace(tail, feat)
            assert torch.allclose(tt(th(example)), net(xte[:2]), atol=1e-4)
        th.save(os.path.join(a.models, f"fmnist_resnet_s{split}_head.pt"))
        tt.save(os.path.join(a.models, f"fmnist_resnet_s{split}_tail.pt"))
    meta = {
        "model": "fmnist_resnet", "dataset": "Fashion-MNIST (dataset-fashion-mnist)",
        "input": "float32 N x 1 x 28 x 28, pixel values 0..255 (normalisation inside the head)",
        "splits": {"s1": [64, 14, 14], "s2": [128, 7, 7]},
        "test_top1": round(acc, 2), "epochs": a.epochs, "seed": a.seed,
        "command": f"/usr/bin/python3 scripts/train_reference.py --epochs {a.epochs} --seed {a.seed} --threads {a.threads}",
        "torch": torch.__version__,
    }
    with open(os.path.join(a.models, "fmnist_resnet.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    # Bundled feature tensors: the last test images (the benches' realistic data).
    with torch.no_grad():
        sel = slice(len(xte) - a.samples, len(xte))
        x = net.stem(xte[sel])
        x = net.s1[0](x)
        s1_bn = net.s1[1].pre_relu(x)
        s1 = F.relu(s1_bn)
        s2 = net.s2(s1)
    os.makedirs(a.features, exist_ok=True)
    np.save(os.path.join(a.features, "fmnist_s1_relu.npy"), s1.numpy().astype("<f4"))
    np.save(os.path.join(a.features, "fmnist_s1_bn.npy"), s1_bn.numpy().astype("<f4"))
    np.save(os.path.join(a.features, "fmnist_s2_relu.npy"), s2.numpy().astype("<f4"))
    np.save(os.path.join(a.features, "fmnist_labels.npy"), yte[sel].astype("u1"))


if __name__ == "__main__":
    main()
