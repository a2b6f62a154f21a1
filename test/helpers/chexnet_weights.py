"""CheXNet-era checkpoints as people have them on disk (arnoweng/CheXNet model.pth.tar, zoogzog/chexnet
m-*.pth.tar), made at test time from a seeded torchvision DenseNet121 (never committed):

- chexnet-legacy.pth.tar: what PyTorch 0.3 on a GPU wrote. torch.save's legacy (non-zip) stream written
  here by hand as 0.3 did: magic number, protocol 1001, sys info, the pickle of
  {'epoch', 'state_dict', 'best_loss', 'optimizer'} with storages as persistent ids
  ('storage', torch.cuda.FloatStorage, key, 'cuda:0', size, None), tensors rebuilt by
  torch._utils._rebuild_tensor(storage, offset, size, stride) (four arguments: 0.3 had no _v2), then the
  sorted storage keys and each storage's element count and bytes. The model is wrapped as CheXNet wraps
  it: DataParallel(DenseNet121 wrapper with attribute `densenet121`, classifier Sequential(Linear(1024, 14),
  Sigmoid())), keys renamed to pre-0.4 torchvision names (norm.1, conv.2, ...), no num_batches_tracked
  (0.4.1 added it), Adam state keyed by the parameters' Python ids. torch 1.13's
  torch.load(f, map_location='cpu') must read it back (checked here: the reference that the file is that).
- chexnet-zip.pth.tar: the same object loaded by torch 1.13 and saved again (zip format, CPU storages).
- other_files(): what is not one CheXNet backbone (another network, two backbones, a wrapped ResNet50,
  pickles naming CUDA globals that are not storages).

BatchNorm parameters and statistics are randomised so that a wrong name mapping changes the logits.

usage: chexnet_weights.py OUTDIR -> files in OUTDIR; prints JSON
  {"input": [shape, values], "logits": [...], "keys": n, "first_keys": [...]}
Python computes the logits of the unwrapped network without the Sigmoid (model.module.densenet121 with
classifier[0] as its head), in eval mode.
"""
import json, os, pickle, struct, sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torchvision

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
PROTOCOL_VERSION = 1001


class DenseNet121(nn.Module):
    """CheXNet's wrapper (arnoweng/CheXNet model.py)."""

    def __init__(self, out_size):
        super().__init__()
        self.densenet121 = torchvision.models.densenet121(weights=None)
        num_ftrs = self.densenet121.classifier.in_features
        self.densenet121.classifier = nn.Sequential(nn.Linear(num_ftrs, out_size), nn.Sigmoid())

    def forward(self, x):
        return self.densenet121(x)


def old_name(key):
    """torchvision >= 0.4's 'denselayer1.norm1.weight' as 0.3 named it: 'denselayer1.norm.1.weight'."""
    parts = key.split('.')
    for i, p in enumerate(parts):
        if i > 0 and parts[i - 1].startswith('denselayer') and p[:-1] in ('norm', 'relu', 'conv') and p[-1] in '12':
            return '.'.join(parts[:i] + [p[:-1], p[-1]] + parts[i + 1:])
    return key


class Storage:
    """A CUDA storage as 0.3's torch.save saw it: a key (its C pointer as text) and its data."""

    def __init__(self, key, data):
        self.key, self.data = key, data


class LegacyPickler(pickle.Pickler):
    def __init__(self, f, storages):
        super().__init__(f, protocol=2)
        self.storages = storages

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ('storage', torch.cuda.FloatStorage, obj.key, 'cuda:0', obj.data.numel(), None)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            data = obj.detach().contiguous().view(-1).clone()
            storage = Storage(str(94000000000000 + 4096 * len(self.storages)), data)
            self.storages[storage.key] = storage
            return (torch._utils._rebuild_tensor, (storage, 0, tuple(obj.size()), tuple(obj.stride())))
        return NotImplemented


def save_legacy_cuda(obj, path):
    storages = {}
    with open(path, 'wb') as f:
        pickle.dump(MAGIC_NUMBER, f, protocol=2)
        pickle.dump(PROTOCOL_VERSION, f, protocol=2)
        pickle.dump(dict(protocol_version=PROTOCOL_VERSION, little_endian=True, type_sizes=dict(short=2, int=4, long=4)), f, protocol=2)
        LegacyPickler(f, storages).dump(obj)
        keys = sorted(storages.keys())
        pickle.dump(keys, f, protocol=2)
        for key in keys:
            data = storages[key].data
            f.write(struct.pack('<q', data.numel()))
            f.write(data.numpy().astype('<f4').tobytes())


def shapes_only(state_dict):
    """The same names and shapes as views of one shared storage: a network's layout in a few MB."""
    big = torch.linspace(-1, 1, max(v.numel() for v in state_dict.values()))
    return OrderedDict((k, v.clone() if v.dtype != torch.float32 else big[:v.numel()].view(v.shape)) for k, v in state_dict.items())


def other_files(out):
    """Files that are not one CheXNet backbone: another network, two backbones, a wrapped ResNet50, and
    pickles naming CUDA globals that are not storages (refused by name, never called)."""
    densenet = shapes_only(torchvision.models.densenet121(weights=None).state_dict())
    resnet = shapes_only(torchvision.models.resnet50(weights=None).state_dict())
    torch.save(resnet, os.path.join(out, 'resnet50.pth'))
    two = OrderedDict([('student.' + k, v) for k, v in densenet.items()] + [('teacher.' + k, v) for k, v in densenet.items()])
    torch.save(two, os.path.join(out, 'two-densenets.pth'))
    wrapped = OrderedDict(('model.encoder.' + k, v) for k, v in resnet.items() if not k.startswith('fc.'))
    wrapped['model.encoder.fc.1.weight'] = torch.randn(3, 2048)  # Sequential(Dropout, Linear(2048, 3))
    wrapped['model.encoder.fc.1.bias'] = torch.randn(3)
    wrapped['model.aux.weight'] = torch.randn(5)
    torch.save({'model': wrapped, 'epoch': 3}, os.path.join(out, 'wrapped-resnet50.pth'))
    head = (pickle.dumps(MAGIC_NUMBER, protocol=2) + pickle.dumps(PROTOCOL_VERSION, protocol=2) +
            pickle.dumps({'protocol_version': PROTOCOL_VERSION, 'little_endian': True, 'type_sizes': {}}, protocol=2))
    tail = pickle.dumps([], protocol=2)
    for name, pkl in [('refused-cuda-tensor.pth', b'\x80\x02ctorch.cuda\nFloatTensor\n.'),
                      ('refused-cuda-comm.pth', b'\x80\x02ctorch.cuda.comm\nbroadcast\n.'),
                      ('refused-storage-call.pth', b'\x80\x02ctorch.cuda\nFloatStorage\n)R.')]:
        with open(os.path.join(out, name), 'wb') as f:
            f.write(head + pkl + tail)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(2018)
    model = nn.DataParallel(DenseNet121(14))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    model.eval()
    # 0.3's state_dict: plain tensors, old DenseNet names, no BatchNorm counters, no _metadata.
    state_dict = OrderedDict((old_name(k), v.detach().clone()) for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked'))
    params = list(model.parameters())
    optimizer = {
        'state': {id(p): {'step': 1200, 'exp_avg': torch.randn_like(p) * 1e-3, 'exp_avg_sq': torch.rand_like(p) * 1e-6} for p in params},
        'param_groups': [{'lr': 1e-4, 'betas': (0.9, 0.999), 'eps': 1e-08, 'weight_decay': 1e-05, 'amsgrad': False, 'params': [id(p) for p in params]}],
    }
    checkpoint = {'epoch': 7, 'state_dict': state_dict, 'best_loss': 0.1528, 'optimizer': optimizer}
    legacy = os.path.join(out, 'chexnet-legacy.pth.tar')
    save_legacy_cuda(checkpoint, legacy)

    # The reference reader: torch 1.13 reads the 0.3-style file back, tensor for tensor.
    loaded = torch.load(legacy, map_location='cpu')
    assert list(loaded.keys()) == ['epoch', 'state_dict', 'best_loss', 'optimizer'], loaded.keys()
    assert list(loaded['state_dict'].keys()) == list(state_dict.keys())
    for k, v in state_dict.items():
        assert torch.equal(loaded['state_dict'][k], v), k
    assert set(loaded['optimizer']['state'].keys()) == {id(p) for p in params}
    torch.save(loaded, os.path.join(out, 'chexnet-zip.pth.tar'))

    other_files(out)

    # Python's logits: the unwrapped network, the Sequential head without its Sigmoid.
    net = model.module.densenet121
    net.classifier = net.classifier[0]
    torch.manual_seed(7)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = net(x)
    print(json.dumps({
        'input': [list(x.shape), x.flatten().tolist()],
        'logits': logits.flatten().tolist(),
        'keys': len(state_dict),
        'first_keys': list(state_dict.keys())[:8],
        'old_style_keys': [k for k in state_dict if '.norm.1.' in k][:2],
    }))


if __name__ == '__main__':
    main()
