"""Hostile weight files of the resource-exhaustion classes (issue: hostile files): deep nesting, aliasing,
opcode floods, long names, '__proto__' keys. Each is small on disk and was a crash or a blow-up of memory
before the readers' budgets; built here, never committed.

usage: hostile_weights.py OUTDIR  -> files in OUTDIR; prints {file: what it attacks} as JSON
"""
import io, json, os, pickle, struct, sys, zipfile
from collections import OrderedDict

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
made = {}

LEGACY_HEAD = (pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2) + pickle.dumps(1001, protocol=2) +
               pickle.dumps({'protocol_version': 1001, 'little_endian': True, 'type_sizes': {}}, protocol=2))


def write(name, data, what):
    open(os.path.join(out, name), 'wb').write(data)
    made[name] = what


def zip_bytes(members):
    f = io.BytesIO()
    with zipfile.ZipFile(f, 'w', zipfile.ZIP_STORED) as z:
        for name, raw in members:
            z.writestr(name, raw)
    return f.getvalue()


def torch_zip(name, pkl, what, storages=()):
    write(name, zip_bytes([('archive/data.pkl', pkl)] + [('archive/data/' + k, v) for k, v in storages]), what)


def legacy(name, pkl, what):
    write(name, LEGACY_HEAD + pkl + pickle.dumps([], protocol=2), what)


def safetensors(name, header, data, what):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    write(name, struct.pack('<Q', len(h)) + h + data, what)


def short_str(s):
    b = s.encode()
    return b'X' + struct.pack('<I', len(b)) + b


# 200,000 OrderedDicts, each built by REDUCE around the next: OrderedDict([('k', OrderedDict([...]))]).
# Freed recursively, this overflowed the stack (1.8 MB file).
N = 200_000
od = b'\x80\x02ccollections\nOrderedDict\nq\x00'
deep = od + (b'h\x00((' + short_str('k')) * N + b'h\x00)R' + b'\x86ltR' * N + b'.'
torch_zip('deep-ordereddict.pth', deep, 'OrderedDict REDUCE nested 200000 deep')
legacy('deep-ordereddict-legacy.pth', deep, 'OrderedDict REDUCE nested 200000 deep (legacy)')

# A list appended to itself, inside a state_dict: {'w': l} with l = [l].
torch_zip('self-list.pth', b'\x80\x02}q\x00(' + short_str('w') + b']q\x01h\x01au.', 'a list that contains itself')

# Opcode floods: 5 MB of one-byte opcodes, each a new value on the stack.
for op, label in ((b'N', 'none'), (b']', 'list'), (b'}', 'dict'), (b')', 'tuple')):
    torch_zip(f'flood-{label}.pth', b'\x80\x02' + op * 5_000_000 + b'}.', f'5 MB of {op.decode()} opcodes')
legacy('flood-legacy.pth', b'\x80\x02' + b'N' * 5_000_000 + b'}.', '5 MB of N opcodes (legacy)')
# Dicts of many small ints: 2-byte opcodes, 2.5 M values.
torch_zip('flood-ints.pth', b'\x80\x02](' + b'K\x01' * 2_500_000 + b'e.', '2.5 M small ints in a list')

# A 200 KB tensor name: std::regex recursed once per character on it.
buf = io.BytesIO()
torch.save(OrderedDict([('features.denselayer1.' + 'x' * 200_000 + '.norm.1.weight', torch.ones(2))]), buf)
write('long-name.pth', buf.getvalue(), 'a tensor name of 200 KB')

# Zip aliasing: 1000 central-directory entries over the local header of one 1 MB member.
MB = 1 << 20
tensors = b''.join(
    b'X' + struct.pack('<I', len(k)) + k.encode() + b'ctorch._utils\n_rebuild_tensor_v2\n(('
    + short_str('storage') + b'ctorch\nFloatStorage\n' + short_str(str(j)) + short_str('cpu') + b'J' + struct.pack('<i', MB // 4)
    + b'tQK\x00J' + struct.pack('<i', MB // 4) + b'\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR'
    for j, k in ((j, f'w{j}') for j in range(1000)))
z = bytearray(zip_bytes([('archive/data.pkl', b'\x80\x02}(' + tensors + b'u.'), ('archive/data/0', b'\x01' * MB)]))
eocd = z.rindex(b'PK\x05\x06')
cd_off, count = struct.unpack('<I', z[eocd + 16:eocd + 20])[0], struct.unpack('<H', z[eocd + 10:eocd + 12])[0]
cd = bytes(z[cd_off:eocd])
at = cd.index(b'archive/data/0') - 46
entry = cd[at:at + 46 + len('archive/data/0')]
extra = b''.join(entry[:28] + struct.pack('<H', len(f'archive/data/{j}')) + entry[30:46] + f'archive/data/{j}'.encode() for j in range(1, 1000))
new_cd = cd + extra
tail = bytearray(z[eocd:])
struct.pack_into('<HHII', tail, 8, count + 999, count + 999, len(new_cd), cd_off)
write('zip-alias.pth', bytes(z[:cd_off]) + new_cd + bytes(tail), '1000 zip entries over one 1 MB member')

# safetensors aliasing: 1000 entries sharing the byte range of one 1 MB tensor.
safetensors('alias.safetensors', {f'w{j}': {'dtype': 'F32', 'shape': [MB // 4], 'data_offsets': [0, MB]} for j in range(1000)},
            b'\0' * MB, '1000 tensors over one 1 MB range')
# A header flood: 5 MB of `0,` in one array.
safetensors('header-flood.safetensors', b'{"x":[' + b'0,' * 2_500_000 + b'0]}', b'', '2.5 M JSON values in the header')
# Past the absolute cap: 8 M members of an object (the costliest JSON value per byte) in a 56 MB header.
safetensors('header-flood-cap.safetensors', b'{"x":{' + b'"":0,' * 8_000_000 + b'"":0}}', b'', '8 M object members in the header')

# Names that are Object.prototype's: must stay ordinary keys.
safetensors('proto.safetensors', {'__proto__': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]},
                                  'constructor': {'dtype': 'F32', 'shape': [1], 'data_offsets': [8, 12]},
                                  '__metadata__': {'__proto__': 'polluted'}}, struct.pack('<3f', 1, 2, 3), "tensors named '__proto__'")
buf = io.BytesIO()
torch.save(OrderedDict([('__proto__', torch.tensor([5.0, 6.0])), ('a', torch.tensor([1.0]))]), buf)
write('proto.pth', buf.getvalue(), "a state_dict key '__proto__'")
# A legitimate empty tensor in a file whose data section is empty.
safetensors('empty-tensor.safetensors', {'w': {'dtype': 'F32', 'shape': [0, 5], 'data_offsets': [0, 0]}}, b'', 'a [0, 5] tensor, 0 data bytes')
print(json.dumps(made))
