"""Reference logits from torchvision for test/models-parity.test.ts.

Usage: /usr/bin/python3 torchvision_models.py OUTDIR
For each arch writes OUTDIR/<arch>/{weights.bin, weights.json, meta.json} and, per input case,
<case>.input.bin and <case>.logits.bin (little-endian float32); weights.json lists {name, dtype, shape,
offset} into weights.bin (little-endian float32/int64, packed); meta.json lists the cases and shapes.
Weights are torchvision's seeded random init with BatchNorm statistics and affine parameters perturbed
so that they matter in eval mode. A 1-channel case feeds torchvision the grey image replicated to RGB.
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision

ARCHS = [dict(arch="densenet121", classes=3, seed=11), dict(arch="resnet50", classes=3, seed=21)]
# (name, channels, size, batch)
INPUTS = [("rgb-64", 3, 64, 2), ("grey-64", 1, 64, 2), ("rgb-224", 3, 224, 1)]


def perturb(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, torch.nn.Linear):
                m.bias.normal_(0.0, 0.1)


def write_state_dict(model, directory):
    index, offset = [], 0
    with open(os.path.join(directory, "weights.bin"), "wb") as f:
        for name, t in model.state_dict().items():
            a = t.detach().cpu().contiguous().numpy()
            a = a.astype("<i8") if a.dtype == np.int64 else a.astype("<f4")
            index.append(dict(name=name, dtype="int64" if a.dtype == np.int64 else "float32", shape=list(a.shape), offset=offset))
            f.write(a.tobytes())
            offset += a.nbytes
    with open(os.path.join(directory, "weights.json"), "w") as f:
        json.dump(index, f)


def main(out):
    torch.set_num_threads(os.cpu_count() or 1)
    for spec in ARCHS:
        directory = os.path.join(out, spec["arch"])
        os.makedirs(directory, exist_ok=True)
        torch.manual_seed(spec["seed"])
        model = getattr(torchvision.models, spec["arch"])(weights=None, num_classes=spec["classes"])
        perturb(model)
        model.eval()
        write_state_dict(model, directory)
        meta = dict(spec, cases={})
        for name, channels, size, batch in INPUTS:
            x = torch.randn(batch, channels, size, size)
            rgb = x.repeat(1, 3, 1, 1) if channels == 1 else x
            with torch.no_grad():
                logits = model(rgb)
            x.numpy().astype("<f4").tofile(os.path.join(directory, name + ".input.bin"))
            logits.numpy().astype("<f4").tofile(os.path.join(directory, name + ".logits.bin"))
            meta["cases"][name] = dict(inputShape=list(x.shape), logitsShape=list(logits.shape))
        with open(os.path.join(directory, "meta.json"), "w") as f:
            json.dump(meta, f)


if __name__ == "__main__":
    main(sys.argv[1])
