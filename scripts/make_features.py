#!/usr/bin/python3
"""Make the bundled feature tensors under data/features (a development-time tool).

Trains a small ResNet on Fashion-MNIST (Debian package dataset-fashion-mnist) for a short,
seeded run and saves intermediate activations of test images as .npy files:

  fmnist_s1_relu.npy  N x 64 x 14 x 14  output of stage 1 (post-ReLU, sparse)
  fmnist_s1_bn.npy    N x 64 x 14 x 14  same point before the final ReLU (post-BatchNorm + skip)
  fmnist_s2_relu.npy  N x 128 x 7 x 7   output of stage 2 (post-ReLU)
  fmnist_labels.npy   N                 the images' labels (uint8)

The product never needs Python; these files are committed. Command used:
  /usr/bin/python3 scripts/make_features.py --epochs 1 --samples 32 --seed 1 --out data/features
"""
import argparse, gzip, os, struct
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


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
        self.skip = None
        if stride != 1 or cin != cout:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def pre_relu(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return y + (x if self.skip is None else self.skip(x))

    def forward(self, x):
        return F.relu(self.pre_relu(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.s1 = nn.ModuleList([Block(32, 64, 2), Block(64, 64, 1)])
        self.s2 = nn.ModuleList([Block(64, 128, 2), Block(128, 128, 1)])
        self.fc = nn.Linear(128, 10)

    def features(self, x):
        x = self.stem(x)
        x = self.s1[0](x)
        s1_bn = self.s1[1].pre_relu(x)
        s1 = F.relu(s1_bn)
        x = self.s2[0](s1)
        s2 = self.s2[1](x)
        return s1_bn, s1, s2

    def forward(self, x):
        _, _, s2 = self.features(x)
        return self.fc(s2.mean(dim=(2, 3)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="data/features")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(a.threads)
    xtr = torch.tensor(load_idx("train-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1) / 255.0
    ytr = torch.tensor(load_idx("train-labels-idx1-ubyte.gz"), dtype=torch.long)
    xte = torch.tensor(load_idx("t10k-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1) / 255.0
    yte = load_idx("t10k-labels-idx1-ubyte.gz")
    mean, std = 0.2860, 0.3530
    xtr = (xtr - mean) / std
    xte = (xte - mean) / std
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = a.epochs * (len(xtr) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    for ep in range(a.epochs):
        net.train()
        perm = torch.randperm(len(xtr))
        for i in range(len(xtr) // 128):
            idx = perm[i * 128:(i + 1) * 128]
            loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if i % 100 == 0:
                print(f"epoch {ep} step {i} loss {loss.item():.3f}", flush=True)
    net.eval()
    with torch.no_grad():
        correct = 0
        for i in range(0, 2000, 500):
            correct += (net(xte[i:i + 500]).argmax(1).numpy() == yte[i:i + 500]).sum()
        print(f"top-1 on the first 2000 test images: {correct / 20:.2f}%")
        # Samples taken from the end of the test set, away from anything tuned on.
        sel = slice(len(xte) - a.samples, len(xte))
        s1_bn, s1, s2 = net.features(xte[sel])
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "fmnist_s1_relu.npy"), s1.numpy().astype("<f4"))
    np.save(os.path.join(a.out, "fmnist_s1_bn.npy"), s1_bn.numpy().astype("<f4"))
    np.save(os.path.join(a.out, "fmnist_s2_relu.npy"), s2.numpy().astype("<f4"))
    np.save(os.path.join(a.out, "fmnist_labels.npy"), yte[sel].astype("u1"))


if __name__ == "__main__":
    main()
