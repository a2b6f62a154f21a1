// Decode time of one 1024x1024 radiograph-like image in each DICOM transfer syntax (median of runs):
// frame decode alone (this thread) and decodeGrey end to end (worker thread, window to 8 bits).
// Files are made here: pydicom writes the native ones, GDCM converts, OpenJPH encodes HTJ2K.
// usage: node scripts/bench-dicom.mjs [--runs 5]   (needs dist/: npm run build:ts; python3-gdcm)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { decodeDicomFrame } = await import(join(root, 'dist', 'data', 'dicom-pixels.js'));
const { decodeGrey } = await import(join(root, 'dist', 'data', 'decode.js'));
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const dir = mkdtempSync(join(tmpdir(), 'txf-bench-dicom-'));
const N = 1024;

// A smooth 12-bit image with a little noise (what JPEG-family codecs meet in radiographs).
const px = Uint16Array.from({ length: N * N }, (_, i) => {
  const x = i % N,
    y = Math.floor(i / N);
  return Math.max(
    0,
    Math.min(4095, Math.round(2048 + 1500 * Math.sin(x / 60) * Math.cos(y / 90) + (((i * 2654435761) >>> 0) % 17) - 8)),
  );
});
writeFileSync(join(dir, 'px12.raw'), Buffer.from(px.buffer));

const require = createRequire(import.meta.url);
const ht = await require('@cornerstonejs/codec-openjph/wasmjs')({ print() {}, printErr() {} });
const htj2k = [
  ['htj2k_lossless', true],
  ['htj2k_lossy', false],
].map(([name, reversible]) => {
  const e = new ht.HTJ2KEncoder();
  e.getDecodedBuffer({
    width: N,
    height: N,
    bitsPerSample: 12,
    componentCount: 1,
    isSigned: false,
    isUsingColorTransform: false,
  }).set(new Uint8Array(px.buffer));
  if (!reversible) e.setQuality(false, 0.002);
  e.encode();
  writeFileSync(join(dir, `${name}.j2c`), e.getEncodedBuffer());
  e.delete();
  return name;
});

const python = `
import sys, numpy as np, pydicom, gdcm
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import generate_uid
from pydicom._uid_dict import UID_dictionary
for uid in ("1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.203"):
    UID_dictionary.setdefault(uid, ("HTJ2K", "Transfer Syntax", "", "", "HTJ2K" + uid[-3:]))
d, N = sys.argv[1], ${N}
px12 = np.fromfile(f"{d}/px12.raw", dtype=np.uint16).reshape(N, N)
def write(name, syntax, px, bits, stored, frames=None):
    meta = FileMetaDataset(); meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid(); meta.TransferSyntaxUID = syntax
    ds = FileDataset(name, {}, file_meta=meta, preamble=b"\\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.PatientID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "P"
    ds.Rows = ds.Columns = N; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, stored, stored - 1, 0
    ds.is_little_endian = syntax != "1.2.840.10008.1.2.2"; ds.is_implicit_VR = syntax == "1.2.840.10008.1.2"
    if frames is None: ds.PixelData = px.astype(">u2" if syntax == "1.2.840.10008.1.2.2" else "<u2" if bits == 16 else np.uint8).tobytes()
    else: ds.PixelData = encapsulate(frames); ds["PixelData"].is_undefined_length = True
    ds.save_as(f"{d}/{name}.dcm", write_like_original=False)
def convert(src, name, syntax):
    r = gdcm.ImageReader(); r.SetFileName(f"{d}/{src}.dcm"); assert r.Read()
    c = gdcm.ImageChangeTransferSyntax(); c.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.GetTSType(syntax)))
    c.SetInput(r.GetImage()); assert c.Change(), name
    w = gdcm.ImageWriter(); w.SetFileName(f"{d}/{name}.dcm"); w.SetFile(r.GetFile()); w.SetImage(c.GetOutput()); assert w.Write()
write("implicit", "1.2.840.10008.1.2", px12, 16, 12)
write("explicit", "1.2.840.10008.1.2.1", px12, 16, 12)
write("bigendian", "1.2.840.10008.1.2.2", px12, 16, 12)
write("grey8", "1.2.840.10008.1.2.1", (px12 >> 4).astype(np.uint8), 8, 8)
for name, syntax in [("deflated", "1.2.840.10008.1.2.1.99"), ("rle", "1.2.840.10008.1.2.5"),
                     ("jpeg_lossless_p14", "1.2.840.10008.1.2.4.57"), ("jpeg_lossless_sv1", "1.2.840.10008.1.2.4.70"), ("jpegls_lossless", "1.2.840.10008.1.2.4.80"),
                     ("jpegls_near", "1.2.840.10008.1.2.4.81"), ("j2k_lossless", "1.2.840.10008.1.2.4.90"), ("j2k_lossy", "1.2.840.10008.1.2.4.91")]:
    convert("explicit", name, syntax)
convert("grey8", "jpeg_baseline8", "1.2.840.10008.1.2.4.50")
write("htj2k_lossless", "1.2.840.10008.1.2.4.201", px12, 16, 12, [open(f"{d}/htj2k_lossless.j2c", "rb").read()])
write("htj2k_lossy", "1.2.840.10008.1.2.4.203", px12, 16, 12, [open(f"{d}/htj2k_lossy.j2c", "rb").read()])
`;
execFileSync(process.env.TORCHXFER_PYTHON ?? '/usr/bin/python3', ['-c', python, dir], {
  stdio: ['ignore', 'ignore', 'inherit'],
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// GDCM writes 16-bit-precision lossy JPEG (outside the standard) from these pixels: 12-bit JPEG is
// timed on pydicom's JPGExtended.dcm (1024 x 256), scaled to 1024 x 1024 by pixel count.
const pydicomFiles = execFileSync(
  process.env.TORCHXFER_PYTHON ?? '/usr/bin/python3',
  ['-c', 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))'],
  { encoding: 'utf8' },
).trim();
const names = [
  'implicit',
  'explicit',
  'bigendian',
  'deflated',
  'rle',
  'jpeg_baseline8',
  join(pydicomFiles, 'JPGExtended.dcm'),
  'jpeg_lossless_p14',
  'jpeg_lossless_sv1',
  'jpegls_lossless',
  'jpegls_near',
  'j2k_lossless',
  'j2k_lossy',
  ...htj2k,
];
console.log('| file | transfer syntax | size (KiB) | frame decode (ms) | decodeGrey via worker (ms) |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const name of names) {
  const path = name.endsWith('.dcm') ? name : join(dir, `${name}.dcm`);
  const bytes = readFileSync(path);
  const frame = [];
  const grey = [];
  let syntax = '';
  let scale = 1;
  for (let r = 0; r < runs + 1; r++) {
    let t = performance.now();
    const f = await decodeDicomFrame(path, bytes, 1e8);
    syntax = f.syntax;
    scale = (N * N) / (f.rows * f.columns);
    if (r > 0) frame.push(performance.now() - t); // run 0 warms up (WebAssembly compile)
    t = performance.now();
    await decodeGrey(path, { width: 0, height: 0 });
    if (r > 0) grey.push(performance.now() - t);
  }
  const note = scale === 1 ? '' : ` (x${scale} of ${Math.round(median(frame))})`;
  console.log(
    `| ${name.split('/').pop()} | ${syntax} | ${Math.round(bytes.length / 1024)} | ${(median(frame) * scale).toFixed(0)}${note} | ${(median(grey) * scale).toFixed(0)} |`,
  );
}
rmSync(dir, { recursive: true, force: true });
