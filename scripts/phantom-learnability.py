#!/usr/bin/python3
"""How hard is each finding in a phantom chest set? Logistic regression on 32x32 pixels, trained on the
train_val list (all of it, and its first 200 images as a small-N stand-in), AUC on the test list.

Usage: /usr/bin/python3 scripts/phantom-learnability.py DIR [Finding ...]   (DIR: an NIH-layout phantom set)
"""
import csv
import sys

import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

root = sys.argv[1]
targets = sys.argv[2:] or ['Cardiomegaly', 'Effusion', 'Emphysema', 'Pneumothorax', 'Nodule', 'Infiltration']
rows = list(csv.reader(open(f'{root}/Data_Entry_2017.csv')))[1:]
test = set(open(f'{root}/test_list.txt').read().split())
X = np.stack([np.asarray(Image.open(f'{root}/images/{r[0]}').resize((32, 32), Image.BILINEAR), dtype=np.float32).ravel() / 255 for r in rows])
is_test = np.array([r[0] in test for r in rows])
small = np.flatnonzero(~is_test)[:200]
for target in targets:
    y = np.array([target in r[1].split('|') for r in rows])
    if y[is_test].all() or not y[is_test].any():
        print(f'{target}: test list lacks positives or negatives')
        continue
    auc = lambda idx: roc_auc_score(y[is_test], LogisticRegression(C=0.1, max_iter=2000).fit(X[idx], y[idx]).decision_function(X[is_test]))
    print(f'{target:14s} positives {int(y.sum()):4d} (test {int(y[is_test].sum()):3d})  AUC train_val {auc(np.flatnonzero(~is_test)):.3f}  AUC first 200 {auc(small):.3f}')
