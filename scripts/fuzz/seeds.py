"""Valid seed files for the reader fuzzer, made with the trusted writers (torch.save, pydicom).

usage: seeds.py OUTDIR   -> small files in OUTDIR; prints their names as JSON
Kept small (a few KiB) so thousands of mutants read in seconds.
"""
import json, os, sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'helpers'))
from weights_fixtures import write_safetensors  # noqa: E402  (one hand-written safetensors writer)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
base = torch.randn(4, 6)
sd = OrderedDict()
sd['conv.weight'] = torch.randn(2, 1, 3, 3)
sd['bn.running_mean'] = torch.randn(2).half()
sd['bn.num_batches_tracked'] = torch.tensor(7)
sd['base'] = base
sd['view'] = base[1:3, ::2]  # a strided view sharing the storage of 'base'
sd['mask'] = torch.rand(5) > 0.5
torch.save(sd, os.path.join(out, 'small.pth'))
torch.save(sd, os.path.join(out, 'small-legacy.pth'), _use_new_zipfile_serialization=False)
torch.save({'epoch': 2, 'state_dict': OrderedDict((('module.' + k, v) for k, v in list(sd.items())[:2]))}, os.path.join(out, 'checkpoint.pth'))

write_safetensors(os.path.join(out, 'small.safetensors'),
                  OrderedDict((('a', torch.randn(2, 3)), ('b', torch.arange(4)), ('c', torch.randn(3).half()))), {'source': 'fuzz'})

import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

def dicom(name, bits, syntax, explicit):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.1'
    meta.MediaStorageSOPInstanceUID = '1.2.826.0.1.3680043.8.498.' + str(bits)  # fixed: mutants reproduce byte for byte
    meta.TransferSyntaxUID = syntax
    path = os.path.join(out, name)
    ds = FileDataset(path, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.Modality = 'P1', 'DX'
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 12, 10, 1
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.WindowCenter, ds.WindowWidth = 1, 0, 100, 200
    dt = np.uint8 if bits == 8 else np.uint16
    ds.PixelData = np.random.default_rng(0).integers(0, 2 ** bits, size=(12, 10)).astype(dt).tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, not explicit
    ds.save_as(path, write_like_original=False)

dicom('small16.dcm', 16, ExplicitVRLittleEndian, True)
dicom('small8-implicit.dcm', 8, ImplicitVRLittleEndian, False)
print(json.dumps(sorted(f for f in os.listdir(out))))
