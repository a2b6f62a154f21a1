"""PyTorch counterpart of bench-train-step.mjs: one DenseNet121 training step (Adam, BCE), batch 16 at
224, NCHW and channels_last, on the CPU. Run with /usr/bin/python3 (torch + torchvision)."""
import json
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

batch, size, iters = 16, 224, 3
args = sys.argv[1:]
if "--batch" in args: batch = int(args[args.index("--batch") + 1])
if "--size" in args: size = int(args[args.index("--size") + 1])
if "--iters" in args: iters = int(args[args.index("--iters") + 1])
if "--threads" in args: torch.set_num_threads(int(args[args.index("--threads") + 1]))
runs = []
for channels_last in (False, True):
    model = torchvision.models.densenet121(num_classes=1)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 3, size, size).contiguous(memory_format=fmt)
    y = (torch.arange(batch) % 2).float().view(batch, 1)
    times = []
    for i in range(iters + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.binary_cross_entropy_with_logits(model(x), y).backward()
        opt.step()
        if i: times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    runs.append({"layout": "channels_last" if channels_last else "NCHW", "medianMs": times[len(times) // 2], "minMs": times[0], "times": times})
print(json.dumps({"arch": "densenet121", "batch": batch, "size": size, "threads": torch.get_num_threads(), "torch": torch.__version__, "runs": runs}, indent=2))
