"""pydicom's reading of DICOM files, for the decoder's parity tests.

  dicom_reference.py make OUTDIR      (stdin: JSON list of HTJ2K codestreams made by the test)
      Writes the transfer syntaxes pydicom's own test files lack in grey, converted by GDCM from
      pydicom's CT_small.dcm and from a synthetic 8-bit image: JPEG baseline 8-bit, JPEG lossless
      process 14 and SV1, JPEG-LS near-lossless; and wraps each HTJ2K codestream in a DICOM file.
  dicom_reference.py reference OUTDIR FILE...
      For each file, frame 1 as pydicom decodes it (GDCM for JPEG lossless/extended and JPEG-LS;
      Pillow's OpenJPEG 2.5 for HTJ2K, which pydicom 2.3 cannot read), kept to BitsStored bits and
      sign-extended, into OUTDIR/ref-I.f64; the expected 8-bit grey by the rule below into
      OUTDIR/ref-I.u8. Prints JSON: {FILE: {rows, cols, syntax, error}}.

The 8-bit rule (the standard's arithmetic): the Modality LUT (pydicom's apply_modality_lut) when the
file has one, else the modality rescale; the first VOI LUT when the file has one
(pydicom's apply_voi, its n-bit output scaled to 8 bits), else the first VOI window (PS3.3 C.11.2.1.2),
else the image's min..max; y = 0 at or below the window, 255 above it,
floor((v - lo) * (255 / (hi - lo)) + 0.5) within; MONOCHROME1 inverted (255 - y).
"""
import io, json, os, sys, warnings
import numpy as np
import pydicom
from pydicom.encaps import encapsulate, generate_pixel_data_frame
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

warnings.simplefilter("ignore")
# pydicom 2.3 predates the HTJ2K transfer syntaxes: teach it their UIDs so it writes them encapsulated.
from pydicom._uid_dict import UID_dictionary
for uid, name in [("1.2.840.10008.1.2.4.201", "HTJ2K Lossless"), ("1.2.840.10008.1.2.4.202", "HTJ2K RPCL Lossless"), ("1.2.840.10008.1.2.4.203", "HTJ2K")]:
    UID_dictionary.setdefault(uid, (name, "Transfer Syntax", "", "", name.replace(" ", "")))
TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")


def gdcm_convert(src, dst, syntax, lossy_error=None):
    import gdcm
    r = gdcm.ImageReader()
    r.SetFileName(src)
    assert r.Read(), src
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.GetTSType(syntax)))
    if lossy_error is not None:
        codec = gdcm.JPEGLSCodec()
        codec.SetLossless(False)
        codec.SetLossyError(lossy_error)
        change.SetUserCodec(codec)
    change.SetInput(r.GetImage())
    assert change.Change(), dst
    w = gdcm.ImageWriter()
    w.SetFileName(dst)
    w.SetFile(r.GetFile())
    w.SetImage(change.GetOutput())
    assert w.Write(), dst


def new_dataset(path, syntax, rows, cols, bits, stored, photometric="MONOCHROME2"):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # digital X-ray
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.Modality = "P1", "DX"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, stored, stored - 1, 0
    ds.is_little_endian, ds.is_implicit_VR = True, False
    return ds


def make(out):
    ct = os.path.join(TEST_FILES, "CT_small.dcm")
    gdcm_convert(ct, f"{out}/jpeg_lossless_p14.dcm", "1.2.840.10008.1.2.4.57")
    gdcm_convert(ct, f"{out}/jpeg_lossless_sv1.dcm", "1.2.840.10008.1.2.4.70")
    gdcm_convert(ct, f"{out}/jpegls_near3.dcm", "1.2.840.10008.1.2.4.81", lossy_error=3)
    # A smooth 8-bit radiograph-like image (JPEG likes it) for baseline JPEG.
    y, x = np.mgrid[0:96, 0:80]
    px = (128 + 90 * np.sin(x / 9.0) * np.cos(y / 13.0)).astype(np.uint8)
    ds = new_dataset(f"{out}/grey8.dcm", ExplicitVRLittleEndian, 96, 80, 8, 8, "MONOCHROME1")
    ds.PixelData = px.tobytes()
    ds.save_as(f"{out}/grey8.dcm", write_like_original=False)
    gdcm_convert(f"{out}/grey8.dcm", f"{out}/jpeg_baseline8.dcm", "1.2.840.10008.1.2.4.50")
    # A VOI LUT (and a window, which the LUT takes precedence over), in explicit and implicit VR.
    ds = pydicom.dcmread(ct)
    lut = Dataset()
    lut.LUTDescriptor = [1024, -200, 12]  # first mapped value signed: CT_small's pixels are
    lut.LUTData = [int(4095 * (i / 1023) ** 0.6) for i in range(1024)]
    lut["LUTDescriptor"].VR, lut["LUTData"].VR = "SS", "US"
    ds.VOILUTSequence = [lut]
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.save_as(f"{out}/voi_lut.dcm", write_like_original=False)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2"
    ds.is_implicit_VR = True
    ds.save_as(f"{out}/voi_lut_implicit.dcm", write_like_original=False)
    # A Modality LUT (it replaces the rescale), windowed by min..max.
    ds = pydicom.dcmread(ct)
    for k in ("RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth"):
        if k in ds:
            delattr(ds, k)
    lut = Dataset()
    lut.LUTDescriptor = [2048, 0, 16]
    lut.LUTData = [min(65535, int(30 * i ** 1.1)) for i in range(2048)]
    lut["LUTDescriptor"].VR, lut["LUTData"].VR = "SS", "US"
    lut.ModalityLUTType = "OD"
    ds.ModalityLUTSequence = [lut]
    ds.save_as(f"{out}/modality_lut.dcm", write_like_original=False)
    for c in json.load(sys.stdin):
        ds = new_dataset(c["path"], c["syntax"], c["rows"], c["cols"], c["bits"], c["stored"])
        ds.WindowCenter, ds.WindowWidth = c.get("center", 2048), c.get("width", 3000)
        with open(c["codestream"], "rb") as f:
            ds.PixelData = encapsulate([f.read()])
        ds["PixelData"].is_undefined_length = True
        ds.save_as(c["path"], write_like_original=False)
    print("{}")


def frame_one(ds):
    syntax = str(ds.file_meta.TransferSyntaxUID)
    if syntax.startswith("1.2.840.10008.1.2.4.20"):  # HTJ2K: Pillow's OpenJPEG 2.5 decodes it
        from PIL import Image
        nf = int(ds.get("NumberOfFrames", 1) or 1)
        code = next(generate_pixel_data_frame(ds.PixelData, nf))
        im = Image.open(io.BytesIO(code))
        a = np.array(im).astype(np.int64)
        if im.mode == "I;16" and ds.BitsStored < 16:
            a >>= 16 - ds.BitsStored  # Pillow scales samples of fewer bits up to 16
        return a
    a = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        a = a[0]
    return a.astype(np.int64)


def eight_bit(ds, stored):
    if ds.get("ModalityLUTSequence"):
        v = apply_modality_lut(stored, ds).astype(np.float64)
    else:
        v = stored.astype(np.float64) * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
    if ds.get("VOILUTSequence"):  # pydicom's apply_voi on the (integer) rescaled values, then n bits to 8
        bits = ds.VOILUTSequence[0].LUTDescriptor[2]
        y = np.floor(apply_voi(v.astype(np.int64), ds).astype(np.float64) * (255 / (2**bits - 1)) + 0.5)
        return (255 - y if ds.PhotometricInterpretation == "MONOCHROME1" else y).astype(np.uint8)
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    first = lambda x: float(x[0]) if isinstance(x, pydicom.multival.MultiValue) else float(x)
    if center is not None and width is not None and first(width) >= 1:
        c, w = first(center) - 0.5, first(width) - 1
        lo, hi = c - w / 2, c + w / 2
    else:
        lo, hi = v.min(), v.max()
    scale = 255 / (hi - lo) if hi > lo else 0
    y = np.where(v <= lo, 0, np.where(v > hi, 255, np.floor((v - lo) * scale + 0.5)))
    if ds.PhotometricInterpretation == "MONOCHROME1":
        y = 255 - y
    return y.astype(np.uint8)


def reference(out, files):
    result = {}
    for i, path in enumerate(files):
        try:
            ds = pydicom.dcmread(path)
            # As the header says: pydicom's J2K handling rewrites PixelRepresentation to the codestream's.
            bits, signed = ds.BitsStored, ds.PixelRepresentation == 1
            a = frame_one(ds)
            a &= (1 << bits) - 1  # BitsStored bits only; above them may be overlays
            if signed:
                a = np.where(a >= 1 << (bits - 1), a - (1 << bits), a)
            a.astype(np.float64).tofile(f"{out}/ref-{i}.f64")
            eight_bit(ds, a).tofile(f"{out}/ref-{i}.u8")
            result[path] = {"rows": int(a.shape[0]), "cols": int(a.shape[1]), "syntax": str(ds.file_meta.TransferSyntaxUID), "index": i}
        except Exception as e:  # reported, the test decides
            result[path] = {"error": f"{type(e).__name__}: {e}", "index": i}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        reference(sys.argv[2], sys.argv[3:])
