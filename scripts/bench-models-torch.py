"""The same forward timing with PyTorch/torchvision, for comparison with scripts/bench-models.mjs.
Usage: /usr/bin/python3 scripts/bench-models-torch.py [arch] [batch] [size] [iters]"""
import json, os, sys, time

import torch
import torchvision

arch, batch, size, iters = (sys.argv[1:2] or ["densenet121"])[0], *(int(v) for v in (sys.argv[2:5] + ["16", "224", "5"][len(sys.argv[2:5]):]))
torch.set_num_threads(os.cpu_count() or 1)
model = getattr(torchvision.models, arch)(weights=None, num_classes=1).eval()
x = torch.randn(batch, 3, size, size)
with torch.no_grad():
    model(x)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        model(x)
        times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(json.dumps(dict(arch=arch, batch=batch, size=size, threads=torch.get_num_threads(), iters=iters, medianMs=round(times[len(times) // 2]), minMs=round(times[0]))))
