#!/usr/bin/env python3
"""PyTorch side of `npm run bench`: times the same work torchxfer does, on the same machine.

Prints one JSON object: {"torch": version, "threads": n, "results": [{"case": ..., "ms": median, "samples": [...]}]}.
A case is "<arch>:<train|eval>:b<batch>:s<size>:<nchw|cl>". Training = forward + BCE-with-logits +
backward + Adam step (as torchxfer's step, augmentation excluded); eval = no-grad forward.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torchvision


def build(arch, device, channels_last):
    model = getattr(torchvision.models, arch)(num_classes=1)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def time_case(arch, mode, batch, size, channels_last, device, warmup, repeats, amp):
    torch.manual_seed(0)
    model = build(arch, device, channels_last)
    x = torch.randn(batch, 3, size, size, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = (torch.rand(batch, 1, device=device) > 0.5).float()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp)

    def run():
        if mode == "train":
            model.train()
            opt.zero_grad(set_to_none=True)
            with autocast:
                loss = loss_fn(model(x).float(), y)
            loss.backward()
            opt.step()
        else:
            model.eval()
            with torch.no_grad(), autocast:
                model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cases", required=True, help="comma-separated cases arch:mode:bBATCH:sSIZE:nchw|cl[:amp]")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    results = []
    for case in args.cases.split(","):
        parts = case.split(":")
        arch, mode, b, s, layout = parts[:5]
        amp = len(parts) > 5 and parts[5] == "amp"
        samples = time_case(arch, mode, int(b[1:]), int(s[1:]), layout == "cl", device, args.warmup, args.repeats, amp)
        results.append({"case": case, "ms": statistics.median(samples), "samples": samples})
        print(f"torch {case}: {statistics.median(samples):.1f} ms", file=sys.stderr)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(device), "results": results}))


if __name__ == "__main__":
    main()
