"""Writes test DICOMs with pydicom and prints the expected 8-bit grey of each as JSON.

The expected values use pydicom's own pixel_array, then the arithmetic of the DICOM standard:
modality rescale, VOI linear window (PS3.3 C.11.2.1.2) or min-max, MONOCHROME1 inversion.
Usage: make_dicom.py OUTDIR  (spec JSON on stdin: a list of cases)
"""
import json, sys
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.encaps import encapsulate

out_dir = sys.argv[1]
cases = json.load(sys.stdin)
result = {}
for c in cases:
    rows, cols = c["rows"], c["cols"]
    bits, signed = c["bits"], c.get("signed", False)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = c.get("syntax", ExplicitVRLittleEndian)
    path = f"{out_dir}/{c['name']}.dcm"
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID = c.get("patient", "P1")
    ds.Modality = "DX"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = c.get("photometric", "MONOCHROME2")
    ds.BitsAllocated = bits
    ds.BitsStored = c.get("stored", bits)
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    for k in ("RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth"):
        if k in c:
            setattr(ds, k, c[k])
    rng = np.random.default_rng(c.get("seed", 0))
    dtype = {(8, False): np.uint8, (8, True): np.int8, (16, False): np.uint16, (16, True): np.int16}[(bits, signed)]
    lo, hi = c.get("range", [np.iinfo(dtype).min, np.iinfo(dtype).max])
    px = rng.integers(lo, hi + 1, size=(rows, cols)).astype(dtype)
    if "syntax" in c:
        ds.PixelData = encapsulate([b"\xff\xd8\xff\xe0not-really-a-jpeg\xff\xd9"])
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(path, write_like_original=False)
        continue
    ds.PixelData = px.tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)
    # Expected: read back with pydicom and apply the standard's arithmetic.
    back = pydicom.dcmread(path)
    v = back.pixel_array.astype(np.float64) * float(c.get("RescaleSlope", 1)) + float(c.get("RescaleIntercept", 0))
    if "WindowCenter" in c:
        ctr, wid = float(c["WindowCenter"]) - 0.5, float(c["WindowWidth"]) - 1
        lo_, hi_ = ctr - wid / 2, ctr + wid / 2
    else:
        lo_, hi_ = v.min(), v.max()
    y = np.where(v <= lo_, 0, np.where(v > hi_, 255, np.floor((v - lo_) * (255 / (hi_ - lo_)) + 0.5)))
    if c.get("photometric") == "MONOCHROME1":
        y = 255 - y
    result[c["name"]] = y.astype(np.uint8).ravel().tolist()
json.dump(result, sys.stdout)
