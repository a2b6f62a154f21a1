"""Weight files as people publish them, made with Debian's torch at test time (never committed):
torch 2.x style zip records, shared storages and offset views, the legacy format, training checkpoints
with an argparse.Namespace, whole pickled modules (a torchvision DenseNet121 subclass in a module named
like torchxrayvision's; nested Sequential) in both formats, with their state_dict and logits.

usage: published_weights.py OUTDIR -> files in OUTDIR; prints JSON
  {file: {"tensors": [[name, dtype, shape, sha256]...], "logits"?: [...], "input"?: [shape, values]}}
"""
import argparse, io, json, os, sys, zipfile
from collections import OrderedDict

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from weights_fixtures import describe  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
refs = {}
torch.manual_seed(0)


def save(obj, name, expect, legacy=False, **extra):
    torch.save(obj, os.path.join(out, name), _use_new_zipfile_serialization=not legacy)
    refs[name] = {'tensors': describe(expect), **extra}


def torch2_records(src, dst):
    """Rewrites a torch 1.13 zip as torch >= 2.1 writes it: .format_version, .storage_alignment and byteorder
    records, data members aligned to 64 bytes by padding in the local header's extra field."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as zout:
        names = zin.namelist()
        prefix = names[0].split('/')[0] + '/'
        records = [(prefix + '.format_version', b'1'), (prefix + '.storage_alignment', b'64'), (prefix + 'byteorder', b'little')]
        for name, data in [(n, zin.read(n)) for n in names] + records:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            if '/data/' in name:
                offset = zout.fp.tell() + 30 + len(name.encode()) + 4
                info.extra = b'FB' + (-offset % 64).to_bytes(2, 'little') + b'Z' * (-offset % 64)
            zout.writestr(info, data)


# A state_dict with shared storages and views at offsets.
base = torch.randn(6, 8)
sd = OrderedDict()
sd['conv.weight'] = torch.randn(4, 2, 3, 3)
sd['base'] = base
sd['row_view'] = base[2]                 # offset 16 into base's storage
sd['strided_view'] = base[1:5, 3::2]     # offset and strides
sd['alias'] = base                       # the same tensor twice
sd['bn.running_var'] = torch.rand(4).double()
sd['bn.num_batches_tracked'] = torch.tensor(11)
sd['half'] = torch.randn(3).half()
save(sd, 'torch1-zip.pth', sd)
save(sd, 'legacy.pth', sd, legacy=True)
torch2_records(os.path.join(out, 'torch1-zip.pth'), os.path.join(out, 'torch2-zip.pth'))
refs['torch2-zip.pth'] = refs['torch1-zip.pth']

# Training checkpoints, read as data: the weights under each key scripts use, DataParallel names,
# an optimizer's state, an argparse.Namespace, numpy scalars.
net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(), torch.nn.Linear(8, 3))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
net(torch.randn(2, 1, 4, 4)).sum().backward()
opt.step()
args = argparse.Namespace(arch='densenet121', lr=0.01, epochs=30, data='/data/nih', pretrained=True, milestones=[10, 20])
for key in ('state_dict', 'model', 'model_state_dict', 'net'):
    weights = OrderedDict(('module.' + k if key == 'net' else k, v) for k, v in net.state_dict().items())
    ck = {'epoch': 12, 'arch': 'seq', key: weights, 'optimizer': opt.state_dict(), 'args': args,
          'best_auc': np.float64(0.8125), 'history': [0.5, 0.7, np.float32(0.75)]}
    save(ck, f'checkpoint-{key}.pth', net.state_dict())
save({'epoch': 3, 'state_dict': net.state_dict(), 'args': args}, 'checkpoint-legacy.pth', net.state_dict(), legacy=True)


# Whole pickled modules: torch.save(model). The class lives in a module named like torchxrayvision's.
pkg = os.path.join(out, 'pkg', 'torchxrayvision')
os.makedirs(pkg, exist_ok=True)
open(os.path.join(pkg, '__init__.py'), 'w').write('from . import models\n')
open(os.path.join(pkg, 'models.py'), 'w').write('''
import torch, torchvision

class DenseNet(torchvision.models.DenseNet):
    """As TorchXRayVision's: DenseNet121, 1 channel in, 18 outputs, extra plain attributes."""
    def __init__(self):
        super().__init__(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64, num_classes=18)
        self.features.conv0 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.pathologies = ["Atelectasis", "Consolidation", "Infiltration"] + [""] * 15
        self.register_buffer("op_threshs", None)  # as xrv: a buffer, None until the weights set it
        self.apply_sigmoid = False
        self.weights = "densenet121-res224-nih"
''')
sys.path.insert(0, os.path.join(out, 'pkg'))
import torchxrayvision  # noqa: E402

torch.manual_seed(1)
model = torchxrayvision.models.DenseNet()
with torch.no_grad():  # BatchNorm statistics away from (0, 1), so eval mode differs from train mode
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.num_batches_tracked.fill_(100)
model.eval()
x = torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(5))
with torch.no_grad():
    logits = model(x)
extra = {'logits': logits.reshape(-1).tolist(), 'input': [list(x.shape), x.reshape(-1).tolist()], 'class': 'torchxrayvision.models.DenseNet'}
save(model, 'xrv-densenet-zip.pt', model.state_dict(), **extra)
save(model, 'xrv-densenet-legacy.pt', model.state_dict(), legacy=True, **extra)
save({'epoch': 5, 'model': model}, 'checkpoint-whole-model.pth', model.state_dict())
# xrv.models.DenseNet(weights=...) sets op_threshs, which then sits in the buffers and the state_dict.
model.op_threshs = torch.linspace(0.01, 0.2, 18)
save(model, 'xrv-densenet-op_threshs.pt', model.state_dict(), **extra)
model.op_threshs = None

seq = torch.nn.Sequential(OrderedDict([
    ('stem', torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU())),
    ('body', torch.nn.Sequential(torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1)), torch.nn.Dropout())),
    ('head', torch.nn.Linear(2, 2)),
]))
seq.register_buffer('scratch', torch.ones(2), persistent=False)  # not in state_dict()
save(seq, 'nested-sequential-zip.pt', seq.state_dict(), **{'class': 'torch.nn.modules.container.Sequential'})
save(seq, 'nested-sequential-legacy.pt', seq.state_dict(), legacy=True, **{'class': 'torch.nn.modules.container.Sequential'})


class Custom(torch.nn.Module):  # a class outside the allow-list: still refused, by name
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)


save(Custom(), 'custom-module.pt', OrderedDict())
print(json.dumps(refs))
