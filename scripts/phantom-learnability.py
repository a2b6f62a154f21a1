#!/usr/bin/python3
"""How learnable is each phantom finding, and does a source task's training help a small target?

Two cheap proxies for the demo's network (docs/demo-design.md), both on the demo's 96 px input:
  logistic  logistic regression on 32x32 pixels (global signs: heart size, effusion, hyperinflation);
  blob      logistic regression on a bank of blob-detector responses (scale-normalised Laplacian of
            Gaussian, sigma 1.5/2.5/4 px: top percentiles inside the central field): a stand-in for the
            primitive a source task would teach, so blob vs logistic shows what that prior is worth;
  cnn       a tiny CNN (4 conv blocks, global max pooling: it can find a small sign anywhere), from
            scratch, or first trained on a source task (--source-chest / --source-msk) then fine-tuned.
Training subsets are balanced (N/2 positives) draws from the train list, one per repeat; the test set is
every test positive and as many test negatives. Prints mean (and min..max) test AUC per finding and N.

Usage:
  /usr/bin/python3 scripts/phantom-learnability.py CHEST_DIR [--findings Nodule Mass ...] [--n 50 200 400]
      [--method logistic cnn] [--repeats 3] [--source-chest SRC_CHEST_DIR --source-labels Mass Effusion]
      [--source-msk MURA_DIR] [--size 96] [--steps 300]
CHEST_DIR: an NIH-layout phantom set; SRC_CHEST_DIR another population (other seed); MURA_DIR: MURA-v1.1.
"""
import argparse
import csv
import os

import numpy as np
import torch
from PIL import Image
from scipy.ndimage import gaussian_laplace
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

torch.set_num_threads(1)


def load(paths, size):
    return np.stack([np.asarray(Image.open(p).convert('L').resize((size, size), Image.BILINEAR), dtype=np.float32) / 255 for p in paths])


def read_chest(root, size):
    rows = list(csv.reader(open(f'{root}/Data_Entry_2017.csv')))[1:]
    test = set(open(f'{root}/test_list.txt').read().split())
    X = load([f'{root}/images/{r[0]}' for r in rows], size)
    labels = [set(r[1].split('|')) for r in rows]
    return X, labels, np.array([r[0] in test for r in rows])


def read_msk(root, size):
    paths, y, valid = [], [], []
    for split in ('train', 'valid'):
        for (p,) in csv.reader(open(f'{root}/{split}_image_paths.csv')):
            paths.append(os.path.join(os.path.dirname(root), p))
            y.append('positive' in p)
            valid.append(split == 'valid')
    return load(paths, size), np.array(y, dtype=np.float32), np.array(valid)


class TinyCnn(torch.nn.Module):
    def __init__(self, outputs):
        super().__init__()
        layers, c = [], 1
        for width in (8, 16, 32, 32):
            layers += [torch.nn.Conv2d(c, width, 3, padding=1), torch.nn.BatchNorm2d(width), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            c = width
        self.features = torch.nn.Sequential(*layers)
        self.head = torch.nn.Linear(c, outputs)

    def forward(self, x):
        return self.head(self.features(x).amax(dim=(2, 3)))


def fit(model, X, Y, steps, seed, lr=3e-3):
    gen = torch.Generator().manual_seed(seed)
    X = torch.from_numpy(X).unsqueeze(1)
    Y = torch.from_numpy(Y.reshape(len(Y), -1).astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(X), (min(32, len(X)),), generator=gen)
        xb = X[idx]
        if torch.rand(1, generator=gen).item() < 0.5:
            xb = xb.flip(3)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xb), Y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model


def predict(model, X):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(torch.from_numpy(X[i:i + 128]).unsqueeze(1))[:, 0] for i in range(0, len(X), 128)]).numpy()


def blob_features(X):
    out = []
    for img in X:
        h, w = img.shape
        row = []
        for sigma in (1.5, 2.5, 4.0):
            r = -gaussian_laplace(img, sigma) * sigma ** 2
            core = r[h // 8: h - h // 8, w // 8: w - w // 8]
            row += [core.max(), *np.percentile(core, [99.9, 99.5, 99, 95]), core.mean()]
        out.append(row)
    F = np.array(out, dtype=np.float32)
    return (F - F.mean(0)) / (F.std(0) + 1e-6)


def balanced(y, idx, n, rng):
    pos, neg = idx[y[idx]], idx[~y[idx]]
    k = min(n // 2, len(pos), len(neg))
    return np.concatenate([rng.choice(pos, k, replace=False), rng.choice(neg, n - k if len(neg) >= n - k else k, replace=False)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('chest')
    ap.add_argument('--findings', nargs='+', default=['Nodule', 'Mass', 'Cardiomegaly', 'Effusion', 'Atelectasis', 'Pneumothorax'])
    ap.add_argument('--n', nargs='+', type=int, default=[50, 100, 200, 400])
    ap.add_argument('--method', nargs='+', default=['logistic', 'cnn'])
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--size', type=int, default=96)
    ap.add_argument('--steps', type=int, default=300, help='CNN optimiser steps (batch 32) per fit')
    ap.add_argument('--source-chest')
    ap.add_argument('--source-labels', nargs='+', default=['Mass', 'Effusion', 'Atelectasis', 'Pneumothorax'])
    ap.add_argument('--source-msk')
    ap.add_argument('--source-steps', type=int, default=600)
    a = ap.parse_args()

    X, labels, is_test = read_chest(a.chest, a.size)
    B = blob_features(X) if 'blob' in a.method else None
    train_idx = np.flatnonzero(~is_test)
    sources = {'none': None}
    if a.source_chest:
        Xs, ls, ts = read_chest(a.source_chest, a.size)
        Ys = np.array([[f in l for f in a.source_labels] for l in ls], dtype=np.float32)
        m = fit(TinyCnn(len(a.source_labels)), Xs[~ts], Ys[~ts], a.source_steps, 1)
        scores = predict_all(m, Xs[ts])
        print(f'source chest {"+".join(a.source_labels)}: test AUC ' + ' '.join(f'{f} {roc_auc_score(Ys[ts, j], scores[:, j]):.3f}' for j, f in enumerate(a.source_labels)))
        sources['chest'] = m.features.state_dict()
    if a.source_msk:
        Xm, ym, valid = read_msk(a.source_msk, a.size)
        m = fit(TinyCnn(1), Xm[~valid], ym[~valid], a.source_steps, 2)
        print(f'source msk abnormal: test AUC {roc_auc_score(ym[valid], predict(m, Xm[valid])):.3f}')
        sources['msk'] = m.features.state_dict()

    for finding in a.findings:
        y = np.array([finding in l for l in labels])
        test = balanced(y, np.flatnonzero(is_test), 10**6, np.random.default_rng(0))
        for method in a.method:
            for src, weights in sources.items():
                if method != 'cnn' and weights is not None:
                    continue
                cells = []
                for n in a.n:
                    aucs = []
                    for r in range(a.repeats):
                        idx = balanced(y, train_idx, n, np.random.default_rng(1000 * r + n))
                        if method == 'logistic':
                            flat = lambda i: X[i][:, ::3, ::3].reshape(len(i), -1)
                            s = LogisticRegression(C=0.1, max_iter=2000).fit(flat(idx), y[idx]).decision_function(flat(test))
                        elif method == 'blob':
                            s = LogisticRegression(C=1, max_iter=2000).fit(B[idx], y[idx]).decision_function(B[test])
                        else:
                            torch.manual_seed(r)
                            model = TinyCnn(1)
                            if weights is not None:
                                model.features.load_state_dict(weights)
                            s = predict(fit(model, X[idx], y[idx], a.steps, r), X[test])
                        aucs.append(roc_auc_score(y[test], s))
                    cells.append(f'N={n} {np.mean(aucs):.3f} ({min(aucs):.2f}..{max(aucs):.2f})')
                name = method if method != 'cnn' else f'cnn source={src}'
                print(f'{finding:13s} {name:18s} test pos {int(y[test].sum()):3d}  ' + '  '.join(cells), flush=True)


def predict_all(model, X):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(torch.from_numpy(X[i:i + 128]).unsqueeze(1)) for i in range(0, len(X), 128)]).numpy()


if __name__ == '__main__':
    main()
