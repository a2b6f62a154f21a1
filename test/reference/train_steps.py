"""Reference training steps in PyTorch/torchvision for test/trainer.test.ts (run with /usr/bin/python3).

argv[1] is a directory holding config.json, images.u8 and targets.f32. Writes:
  initial.f64 + initial.json: the torchvision model's state_dict before training (seeded init),
  final32.*: the state_dict after the steps in float32, final64.*: the same steps in float64 (the
  truth: float32 gradients of a randomly initialised deep network vary by ~1% with summation order,
  so a float32 result is judged by its distance to float64 against PyTorch's own float32 distance),
  losses.json: {"float32": [...], "float64": [...]}, the loss of each step; groups.json: the layer
  group of each parameter.
Each .json lists [name, shape] in file order; values stored as float64.
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

GROUPS = {
    "resnet50": [["conv1", "bn1", "layer1", "layer2"], ["layer3", "layer4"], ["fc"]],
    "densenet121": [
        ["features.conv0", "features.norm0", "features.relu0", "features.pool0", "features.denseblock1", "features.transition1", "features.denseblock2"],
        ["features.transition2", "features.denseblock3", "features.transition3", "features.denseblock4", "features.norm5"],
        ["classifier"],
    ],
}


def group_of(arch, name):
    for g, prefixes in enumerate(GROUPS[arch]):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return g
    raise KeyError(name)


def save(path, tensors):
    index = []
    with open(path + ".f64", "wb") as f:
        for name, t in tensors.items():
            f.write(t.detach().to(torch.float64).contiguous().numpy().tobytes())
            index.append([name, list(t.shape)])
    with open(path + ".json", "w") as f:
        json.dump(index, f)


def main():
    d = sys.argv[1]
    cfg = json.load(open(d + "/config.json"))
    arch, n, c, h, w, labels = cfg["arch"], cfg["n"], cfg["channels"], cfg["height"], cfg["width"], cfg["labels"]
    torch.manual_seed(cfg.get("initSeed", 0))
    model = getattr(torchvision.models, arch)(num_classes=labels)
    save(d + "/initial", model.state_dict())
    json.dump({name: group_of(arch, name) for name, _ in model.named_parameters()}, open(d + "/groups.json", "w"))

    initial = {k: v.clone() for k, v in model.state_dict().items()}
    losses = {}

    def train(dtype):
        x = torch.from_numpy(np.fromfile(d + "/images.u8", dtype=np.uint8).reshape(n, c, h, w).astype(np.float32)) / 255
        if c == 1:
            x = x.expand(n, 3, h, w)
        mean = torch.tensor(cfg["mean"]).view(1, -1, 1, 1)
        std = torch.tensor(cfg["std"]).view(1, -1, 1, 1)
        x = (x - mean) / std
        model.load_state_dict(initial)
        model.to(dtype)
        x = x.to(dtype)
        y = torch.from_numpy(np.fromfile(d + "/targets.f32", dtype=np.float32).reshape(n, labels)).to(dtype)

        frozen = set(cfg.get("frozen", []))
        policy = cfg.get("bnPolicy", "update-stats")
        bn_modules = {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
        params = dict(model.named_parameters())
        for name, p in params.items():
            g = group_of(arch, name)
            module_name = name.rsplit(".", 1)[0]
            p.requires_grad_(g not in frozen or (policy == "trainable" and module_name in bn_modules))

        opt_kind, wd = cfg["optimizer"], cfg.get("weightDecay", 0.0)
        # One torch param group per (layer group, decays?) so decoupled decay skips 1-D tensors.
        param_groups = []
        for g in range(3):
            for decays in (True, False):
                ps = [p for name, p in params.items() if group_of(arch, name) == g and (p.dim() > 1) == decays]
                if ps:
                    param_groups.append({"params": ps, "layer_group": g, "decays": decays})
        if opt_kind == "adam":
            for pg in param_groups:
                pg["weight_decay"] = wd if pg["decays"] else 0.0
            opt = torch.optim.AdamW(param_groups, lr=1.0, betas=(0.9, cfg.get("beta2", 0.999)), eps=cfg.get("eps", 1e-8))
        else:
            opt = torch.optim.SGD(param_groups, lr=1.0, momentum=0.9, nesterov=cfg.get("nesterov", False))

        losses[str(dtype).split(".")[1]] = step_losses = []
        for step in range(cfg["steps"]):
            lrs, moms = cfg["lrs"][step], cfg["momenta"][step]
            for pg in opt.param_groups:
                g = pg["layer_group"]
                pg["lr"] = lrs[g]
                if opt_kind == "adam":
                    pg["betas"] = (moms[g], cfg.get("beta2", 0.999))
                else:
                    pg["momentum"] = moms[g]
            model.train()
            if policy == "frozen":
                for name, m in bn_modules.items():
                    if group_of(arch, name + ".weight") in frozen:
                        m.eval()
            opt.zero_grad(set_to_none=True)
            logits = model(x)
            mask = ~torch.isnan(y)
            per = F.binary_cross_entropy_with_logits(logits, torch.where(mask, y, torch.zeros_like(y)), reduction="none")
            loss = (per * mask).sum() / mask.sum()
            step_losses.append(loss.item())
            loss.backward()
            if cfg.get("manual"):  # plain gradient descent written out: p <- p - lr * grad
                with torch.no_grad():
                    for name, p in params.items():
                        if p.grad is not None:
                            p.sub_(lrs[group_of(arch, name)] * p.grad)
                continue
            if opt_kind == "sgd" and wd:
                with torch.no_grad():  # decoupled weight decay, before the update, as AdamW does
                    for pg in opt.param_groups:
                        if pg["decays"]:
                            for p in pg["params"]:
                                if p.grad is not None:
                                    p.mul_(1 - pg["lr"] * wd)
            opt.step()

    train(torch.float32)
    save(d + "/final32", model.state_dict())
    train(torch.float64)
    save(d + "/final64", model.state_dict())
    json.dump(losses, open(d + "/losses.json", "w"))


main()
