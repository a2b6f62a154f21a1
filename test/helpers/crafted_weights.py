"""Hand-made hostile weight files: each is valid up to one field that overflows, declares a huge size
or nests too deep. Regression inputs for the reader fixes (test/fuzz-readers.test.ts).

usage: crafted_weights.py OUTDIR  -> files in OUTDIR; prints {file: what it attacks} as JSON
"""
import io, json, os, pickle, struct, sys, zipfile
from collections import OrderedDict

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
made = {}


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ('storage', getattr(obj, 'type', torch.FloatStorage), obj.key, 'cpu', obj.numel) if isinstance(obj, Storage) else None


def dumps(obj):
    f = io.BytesIO()
    Pickler(f, protocol=2).dump(obj)
    return f.getvalue()


def legacy(name, obj, storages, what, body=None):
    """torch.save's legacy layout: magic, protocol, sys_info, the object, storage keys, then each storage."""
    data = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2) + pickle.dumps(1001, protocol=2)
    data += pickle.dumps({'protocol_version': 1001, 'little_endian': True, 'type_sizes': {}}, protocol=2)
    data += body if body is not None else dumps(obj)
    data += pickle.dumps([k for k, _ in storages], protocol=2)
    for key, values in storages:
        data += struct.pack('<q', len(values)) + struct.pack(f'<{len(values)}f', *values)
    open(os.path.join(out, name), 'wb').write(data)
    made[name] = what


def torch_zip(name, obj, members, what):
    with zipfile.ZipFile(os.path.join(out, name), 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', dumps(obj))
        for key, raw in members.items():
            z.writestr('archive/data/' + key, raw)
    made[name] = what


def safetensors(name, header, data, what):
    h = json.dumps(header).encode()
    open(os.path.join(out, name), 'wb').write(struct.pack('<Q', len(h)) + h + data)
    made[name] = what


four = [1.0, 2.0, 3.0, 4.0]
s = Storage('0', 4)
# rebuild_tensor: (size - 1) * stride wraps around to a "last element" inside the 4-element storage.
legacy('view-overflow.pth', OrderedDict(w=Tensor(s, 0, [2 ** 62 + 1], [4])), [('0', four)], 'size*stride overflow')
# rebuild_tensor: a product of sizes that wraps to a small number of elements.
legacy('numel-overflow.pth', OrderedDict(w=Tensor(s, 0, [2 ** 32, 2 ** 32, 2], [0, 0, 1])), [('0', four)], 'numel overflow')
# A broadcast (stride 0) view declaring a trillion elements over a 4-element storage.
legacy('huge-broadcast.pth', OrderedDict(w=Tensor(s, 0, [2 ** 40], [0])), [('0', four)], 'huge expanded view')
# Legacy: a storage declared at 2^31 floats (8 GiB) in a file of a few hundred bytes.
legacy('huge-storage-legacy.pth', OrderedDict(w=Tensor(Storage('0', 2 ** 31), 0, [4], [1])), [('0', four)], 'huge legacy storage')
# Zip: numel * 4 wraps to 0 bytes needed.
torch_zip('huge-storage-zip.pth', OrderedDict(w=Tensor(Storage('0', 2 ** 62), 0, [4], [1])), {'0': struct.pack('<4f', *four)}, 'storage numel*size overflow')
# A chain of 200000 lists, each appended to its parent before being filled: destroying it recursed
# once per level on the worker's stack.
deep = bytearray(b'\x80\x02]\x94')  # root list, memo 0
for level in range(1, 200001):
    # push parent (memo level-1), push a new list, memoize it as `level`, append it to the parent, drop the parent
    deep += b'j' + struct.pack('<I', level - 1) + b']\x94a0'
deep += b'.'
legacy('deep-chain.pth', None, [], 'deeply nested pickle', body=bytes(deep))
# A storage whose type is an allowed global that is no storage (found by scripts/fuzz.mjs --seed 2).
odd = Storage('0', 4)
odd.type = OrderedDict
legacy('storage-type.pth', OrderedDict(w=Tensor(odd, 0, [4], [1])), [('0', four)], 'storage type not a storage')
# safetensors: 2^50 x 2^12 float32 is 2^64 bytes, 0 modulo 2^64: matches data_offsets [0, 0].
safetensors('shape-overflow.safetensors', {'w': {'dtype': 'F32', 'shape': [2 ** 50, 2 ** 12], 'data_offsets': [0, 0]}}, b'', 'shape product overflow')
# safetensors: a dimension past 2^63 (not an int64).
safetensors('dim-too-big.safetensors', {'w': {'dtype': 'F32', 'shape': [1e19], 'data_offsets': [0, 4]}}, b'\0' * 4, 'dimension beyond int64')
print(json.dumps(made))
