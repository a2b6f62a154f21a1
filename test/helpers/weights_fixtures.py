"""Weight files for test/weights-*.test.ts, made with the trusted torch.save, plus reference digests.

usage: weights_fixtures.py make OUTDIR        -> files in OUTDIR and OUTDIR/reference.json
       weights_fixtures.py read-safetensors F -> JSON {name: [dtype, shape, sha256]} parsed with struct+json
"""
import hashlib, importlib.util, json, os, pickle, pickletools, random, struct, sys, zipfile
from collections import OrderedDict

import torch
import torchvision

DT = {torch.float32: 'float32', torch.float16: 'float16', torch.bfloat16: 'bfloat16', torch.float64: 'float64',
      torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8', torch.uint8: 'uint8', torch.bool: 'bool'}
ST = {'F32': 'float32', 'F16': 'float16', 'BF16': 'bfloat16', 'F64': 'float64', 'I64': 'int64', 'I32': 'int32', 'I16': 'int16', 'I8': 'int8', 'U8': 'uint8', 'BOOL': 'bool'}


def digest(t):
    raw = t.contiguous().reshape(-1).view(torch.uint8) if t.numel() else torch.empty(0, dtype=torch.uint8)
    return hashlib.sha256(raw.numpy().tobytes()).hexdigest()


def describe(sd):
    return [[k, DT[v.dtype], list(v.shape), digest(v)] for k, v in sd.items()]


def write_safetensors(path, tensors, metadata):
    """safetensors written by hand (struct + json), as the format's description says; also used by scripts/fuzz/seeds.py."""
    header, blobs, off = {'__metadata__': metadata}, [], 0
    code = {v: k for k, v in ST.items()}
    for k, v in tensors.items():
        b = v.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        header[k] = {'dtype': code[DT[v.dtype]], 'shape': list(v.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def save_both(obj, out, stem):
    torch.save(obj, os.path.join(out, stem + '.pth'))
    torch.save(obj, os.path.join(out, stem + '-legacy.pth'), _use_new_zipfile_serialization=False)


def make(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    ref = {}
    # A real torchvision state_dict (ResNet18's stem and first stage: random init, small), with _metadata.
    full = torchvision.models.resnet18().state_dict()
    sd = OrderedDict((k, v) for k, v in full.items() if k.split('.')[0] in ('conv1', 'bn1', 'layer1'))
    sd._metadata = full._metadata
    save_both(sd, out, 'resnet18-part')
    ref['resnet18-part'] = describe(sd)

    # Every dtype, views of one shared storage, non-contiguous, 0-d and empty tensors.
    base = torch.randn(4, 6)
    zoo = OrderedDict()
    zoo['f32'] = torch.randn(3, 5)
    zoo['f16'] = torch.randn(7).half()
    zoo['bf16'] = torch.randn(2, 3).bfloat16()
    zoo['f64'] = torch.randn(4, 1, 2).double()
    zoo['i64'] = torch.randint(-2**40, 2**40, (5,))
    zoo['i32'] = torch.randint(-2**30, 2**30, (2, 2), dtype=torch.int32)
    zoo['u8'] = torch.randint(0, 256, (9,), dtype=torch.uint8)
    zoo['bool'] = torch.rand(6) > 0.5
    zoo['base'] = base
    zoo['transposed'] = base.t()
    zoo['rows'] = base[1:3]
    zoo['strided'] = base[:, ::2]
    zoo['same'] = base
    zoo['scalar'] = torch.tensor(3.5)
    zoo['empty'] = torch.zeros(0, 3)
    save_both(zoo, out, 'zoo')
    ref['zoo'] = describe(zoo)

    # A training checkpoint from DataParallel: the state_dict nested, keys prefixed "module.".
    inner = OrderedDict([('module.fc.weight', torch.randn(2, 3)), ('module.fc.bias', torch.randn(2))])
    torch.save({'epoch': 3, 'best': 0.5, 'state_dict': inner, 'arch': 'x'}, os.path.join(out, 'checkpoint.pth'))
    ref['checkpoint'] = [[k[len('module.'):], *rest] for k, *rest in describe(inner)]

    # An older pickle style, by hand: Python 2's OrderedDict reduce ([k, v] lists), _rebuild_tensor (v1), torch.Size.
    t = torch.randn(6)
    pkl = (b'\x80\x02ccollections\nOrderedDict\n](](X\x01\x00\x00\x00a'
           b'ctorch._utils\n_rebuild_tensor\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000'
           b'X\x03\x00\x00\x00cpuK\x06tQK\x00ctorch\nSize\nK\x02K\x03\x86\x85RK\x03K\x01\x86tRee\x85R.')
    with zipfile.ZipFile(os.path.join(out, 'old-style.pth'), 'w', zipfile.ZIP_STORED) as z:
        z.writestr('old-style/data.pkl', pkl)
        z.writestr('old-style/data/0', t.numpy().tobytes())
        z.writestr('old-style/version', '3\n')
    ref['old-style'] = describe(torch.load(os.path.join(out, 'old-style.pth')))  # torch itself reads it

    # A whole pickled model (refused), and its state_dict exported by scripts/export-state-dict.py.
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
    torch.save(model, os.path.join(out, 'whole-model.pt'), _use_new_zipfile_serialization=False)
    script = os.path.join(os.path.dirname(__file__), '..', '..', 'scripts', 'export-state-dict.py')
    spec = importlib.util.spec_from_file_location('export_state_dict', script)  # in-process: one torch import is slow enough
    exporter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exporter)
    exporter.export(os.path.join(out, 'whole-model.pt'), os.path.join(out, 'exported.safetensors'))
    ref['exported'] = describe(model.state_dict())

    # safetensors written by hand (struct + json), as the reference format describes it.
    st = OrderedDict([('a', torch.randn(2, 3)), ('b', torch.arange(4, dtype=torch.int64)), ('c', torch.randn(3).half())])
    meta = {'source': 'python', 'n': '3'}
    write_safetensors(os.path.join(out, 'python.safetensors'), st, meta)
    ref['python.safetensors'] = describe(st)
    ref['python.safetensors.metadata'] = meta
    # ...and one with a dtype torchxfer does not read.
    h = json.dumps({'x': {'dtype': 'F8_E4M3', 'shape': [2], 'data_offsets': [0, 2]}}).encode()
    with open(os.path.join(out, 'f8.safetensors'), 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b'\0\0')

    # Refusals: a pickle that would call os.system, inside an otherwise valid torch.save zip.
    cmd = ('touch ' + os.path.join(out, 'pwned')).encode()
    evil = b'\x80\x02cos\nsystem\nq\x00X' + struct.pack('<I', len(cmd)) + cmd + b'q\x01\x85q\x02Rq\x03.'
    pickletools.dis(evil, out=open(os.devnull, 'w'))  # well-formed: pickle.loads would run `touch OUT/pwned`
    with zipfile.ZipFile(os.path.join(out, 'evil.pth'), 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', evil)
        z.writestr('archive/version', '3\n')
    # A complex tensor: a storage type outside the allowed list.
    torch.save({'z': torch.randn(2, dtype=torch.complex64)}, os.path.join(out, 'complex.pth'))
    data = open(os.path.join(out, 'resnet18-part.pth'), 'rb').read()
    open(os.path.join(out, 'truncated.pth'), 'wb').write(data[: len(data) // 2])
    data = open(os.path.join(out, 'resnet18-part-legacy.pth'), 'rb').read()
    open(os.path.join(out, 'truncated-legacy.pth'), 'wb').write(data[: len(data) // 2])
    # Seeded noise that starts like no format (a '{' at byte 8 would read as a safetensors header: 1 in 256).
    noise = bytearray(random.Random(1234).randbytes(4096))
    noise[0], noise[8] = 0x17, 0x17  # not 'P' of a zip, 0x80 of a pickle, or '{'
    open(os.path.join(out, 'random.bin'), 'wb').write(bytes(noise))
    with open(os.path.join(out, 'reference.json'), 'w') as f:
        json.dump(ref, f)


def read_safetensors(path):
    data = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop('__metadata__', {})
    out = []
    for k, v in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
        b, e = v['data_offsets']
        out.append([k, ST[v['dtype']], v['shape'], hashlib.sha256(data[8 + n + b:8 + n + e]).hexdigest()])
    print(json.dumps({'tensors': out, 'metadata': meta}))


if __name__ == '__main__':
    {'make': make, 'read-safetensors': read_safetensors}[sys.argv[1]](sys.argv[2])
