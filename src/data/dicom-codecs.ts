/**
 * The compressed pixel codecs of DICOM, from the ecosystem (never our own decoders): the cornerstone
 * WebAssembly builds of libjpeg-turbo (8-bit JPEG), OpenJPEG (JPEG 2000), CharLS (JPEG-LS) and OpenJPH
 * (HTJ2K); jpeg-lossless-decoder-js (JPEG lossless, process 14); daikon's JpegImage for 12-bit JPEG
 * (the decoder cornerstone also uses for it). Each takes one frame's codestream and returns samples
 * with the size the codestream declares; the caller checks them against the DICOM header.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Decoded samples: 8-bit or 16-bit words (signed when the codestream says so), row-major. */
export interface DecodedFrame {
  samples: Uint8Array | Uint16Array | Int16Array;
  width: number;
  height: number;
  components: number;
  /** Bits per sample the codestream declares. */
  bits: number;
}

export type CodecName = 'jpeg8' | 'jpeg12' | 'jpeg-lossless' | 'jpeg-ls' | 'j2k' | 'htj2k';

/** The embind decoders of the cornerstone codecs all share this shape. */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  delete(): void;
}
type WasmModule = Record<string, new () => WasmDecoder>;

const wasm: Record<string, { factory: string; decoder: string; module?: Promise<WasmModule> }> = {
  jpeg8: { factory: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', decoder: 'JPEGDecoder' },
  'jpeg-ls': { factory: '@cornerstonejs/codec-charls/decodewasmjs', decoder: 'JpegLSDecoder' },
  j2k: { factory: '@cornerstonejs/codec-openjpeg/decodewasmjs', decoder: 'J2KDecoder' },
  htj2k: { factory: '@cornerstonejs/codec-openjph/wasmjs', decoder: 'HTJ2KDecoder' },
};

const logged: string[] = [];
function remember(line: string): void {
  logged.push(line.trim());
  if (logged.length > 8) logged.shift();
}

async function wasmDecode(name: keyof typeof wasm, codestream: Uint8Array): Promise<DecodedFrame> {
  const entry = wasm[name]!;
  // The codecs print progress and errors; keep the last lines for the error message instead.
  entry.module ??= (require(entry.factory) as (opts: object) => Promise<WasmModule>)({
    print: remember,
    printErr: remember,
  });
  let module: WasmModule;
  try {
    module = await entry.module;
  } catch (err) {
    entry.module = undefined;
    throw err;
  }
  logged.length = 0;
  const decoder = new module[entry.decoder]!();
  try {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    try {
      decoder.decode();
    } catch (err) {
      // Emscripten throws numbers (exception pointers) or aborts; either way this instance is suspect.
      entry.module = undefined;
      const said = logged.filter((l) => /error/i.test(l)).join('; ');
      throw new Error(
        said ||
          (typeof err === 'object' && err && 'message' in err
            ? String((err as Error).message)
            : `codec error ${String(err)}`),
      );
    }
    const info = decoder.getFrameInfo();
    const said = logged.filter((l) => /error/i.test(l));
    if (!(info.width > 0 && info.height > 0)) throw new Error(said.join('; ') || 'the codec decoded nothing');
    const bytes = decoder.getDecodedBuffer().slice(); // copied out of the WebAssembly heap
    const wide = info.bitsPerSample > 8;
    const samples = !wide
      ? bytes
      : info.isSigned
        ? new Int16Array(bytes.buffer, 0, bytes.length >> 1)
        : new Uint16Array(bytes.buffer, 0, bytes.length >> 1);
    return {
      samples,
      width: info.width,
      height: info.height,
      components: info.componentCount,
      bits: info.bitsPerSample,
    };
  } finally {
    decoder.delete();
  }
}

interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number): Uint8Array | Uint16Array;
  xDim: number;
  yDim: number;
  numComp: number;
  frame: { precision: number };
}

function losslessDecode(codestream: Uint8Array): DecodedFrame {
  const { Decoder } = require('jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder };
  const d = new Decoder();
  const samples = d.decode(codestream.buffer as ArrayBuffer, codestream.byteOffset, codestream.length);
  return { samples, width: d.xDim, height: d.yDim, components: d.numComp, bits: d.frame.precision };
}

interface JpegImage {
  parse(data: Uint8Array): void;
  getData16(width: number, height: number): Uint16Array;
  width: number;
  height: number;
  colorTransform: boolean;
  components: unknown[];
}

/**
 * daikon's (and cornerstone's) JpegImage level-shifts 12-bit samples with pdf.js's 8-bit constant
 * scaled by 4095/255 (2056 * 4095 / 255 instead of 2048 * 16 + 8), so every sample comes out exactly
 * 15 too high (the IDCT output is an integer, the extra 0.94/16 never carries) and the top 15 levels
 * saturate. Subtracting it leaves samples within 1 of libjpeg's 12-bit decoder (GDCM's, pydicom's
 * reference), equal for ~90% of them; the top 15 levels stay merged at 4080.
 */
const JPEG12_LEVEL_SHIFT_ERROR = 15;

function jpeg12Decode(codestream: Uint8Array, precision: number): DecodedFrame {
  if (precision !== 12) throw new Error(`JPEG with ${precision}-bit samples (lossy JPEG has 8 or 12)`);
  const { JpegImage } = require('daikon/lib/jpeg-baseline.js') as { JpegImage: new () => JpegImage };
  const j = new JpegImage();
  j.parse(codestream);
  j.colorTransform = false;
  if (j.components.length !== 1)
    throw new Error(`12-bit JPEG with ${j.components.length} components (only grey is supported)`);
  const samples = j.getData16(j.width, j.height);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.max(0, samples[i]! - JPEG12_LEVEL_SHIFT_ERROR);
  return { samples, width: j.width, height: j.height, components: 1, bits: 12 };
}

/** Decodes one codestream with the named codec; codec errors are thrown as Errors with its message. */
export async function decodeCodestream(codec: CodecName, codestream: Uint8Array): Promise<DecodedFrame> {
  try {
    if (codec === 'jpeg-lossless') return losslessDecode(codestream);
    if (codec === 'jpeg12') return jpeg12Decode(codestream, jpegFrameHeader(codestream)?.precision ?? 0);
    return await wasmDecode(codec, codestream);
  } catch (err) {
    // Some decoders throw strings.
    throw err instanceof Error ? err : new Error(String(err));
  }
}

/** What a JPEG (or JPEG-LS) codestream's frame header says: process (SOF marker), precision, size. */
export function jpegFrameHeader(
  codestream: Uint8Array,
): { marker: number; precision: number; width: number; height: number; components: number } | undefined {
  let pos = 2; // after SOI
  while (pos + 4 <= codestream.length) {
    if (codestream[pos] !== 0xff) return undefined;
    const marker = codestream[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    const length = (codestream[pos + 2]! << 8) | codestream[pos + 3]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC); SOF55 (F7) of JPEG-LS.
    if (
      (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) ||
      marker === 0xf7
    ) {
      if (pos + 10 > codestream.length) return undefined;
      const b = codestream;
      return {
        marker,
        precision: b[pos + 4]!,
        height: (b[pos + 5]! << 8) | b[pos + 6]!,
        width: (b[pos + 7]! << 8) | b[pos + 8]!,
        components: b[pos + 9]!,
      };
    }
    if (marker === 0xda) return undefined; // scan before any frame header
    pos += 2 + length;
  }
  return undefined;
}
