#!/usr/bin/env python3
"""Exports the state_dict of a torch.save file that pickles a whole model (e.g. TorchXRayVision's DenseNet
releases) to safetensors, which torchxfer reads without unpickling anything.

torch.load runs the file's pickle: use this only on files from a source you trust, in an environment
where the model's package is importable (e.g. `pip install torchxrayvision` for its files).

usage: python3 scripts/export-state-dict.py IN.pt OUT.safetensors
"""
import json
import os
import struct
import sys
import tempfile

import torch

CODES = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64', torch.int64: 'I64',
         torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}


def export(src, dst):
    obj = torch.load(src, map_location='cpu')
    sd = obj.state_dict() if hasattr(obj, 'state_dict') else obj
    header, blobs, offset = {'__metadata__': {'exported_from': os.path.basename(src)}}, [], 0
    for name, t in sd.items():
        raw = t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b''
        header[name] = {'dtype': CODES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b' ' * ((8 - len(head) % 8) % 8)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(dst)), prefix='.export-')
    with os.fdopen(fd, 'wb') as f:
        f.write(struct.pack('<Q', len(head)) + head)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dst)
    print(f'{dst}: {len(sd)} tensors')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    export(sys.argv[1], sys.argv[2])
