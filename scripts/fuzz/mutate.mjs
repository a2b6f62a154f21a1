// Seeded mutators for the reader fuzzer. Every mutant is a pure function of (seed, case index,
// seed file), so a failing case is reproduced from the three alone: see `mutant()`.
import { crc32, deflateRawSync } from 'node:zlib';

import { db, jpeg, png, spec } from './inputs.mjs';

/** mulberry32: small, fast and good enough to pick mutations. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (xs) => xs[next.int(xs.length)];
  return next;
}

const BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];
// Little-endian 32/64-bit values that break length and offset arithmetic.
const WORDS = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000000];
const QWORDS = [2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 32n, 2n ** 40n, 2n ** 62n, 2n ** 61n + 1n];

function put32(b, off, v) {
  if (off + 4 <= b.length) b.writeUInt32LE(v >>> 0, off);
}
function put64(b, off, v) {
  if (off + 8 <= b.length) b.writeBigUInt64LE(v, off);
}

// Generic mutations: any format.
const generic = {
  bitflip(b, r) {
    const k = 1 + r.int(8);
    for (let j = 0; j < k; j++) b[r.int(b.length)] ^= 1 << r.int(8);
    return [b, `bitflip x${k}`];
  },
  byte(b, r) {
    const off = r.int(b.length),
      v = r.pick(BYTES);
    b[off] = v;
    return [b, `byte @${off}=0x${v.toString(16)}`];
  },
  word(b, r) {
    const off = r.int(b.length),
      v = r.pick(WORDS);
    put32(b, off, v);
    return [b, `u32 @${off}=0x${v.toString(16)}`];
  },
  qword(b, r) {
    const off = r.int(b.length),
      v = r.pick(QWORDS);
    put64(b, off, v);
    return [b, `u64 @${off}=0x${v.toString(16)}`];
  },
  truncate(b, r) {
    const n = r.int(b.length);
    return [b.subarray(0, n), `truncate to ${n}`];
  },
  duplicate(b, r) {
    const from = r.int(b.length),
      len = 1 + r.int(Math.min(256, b.length - from)),
      at = r.int(b.length + 1);
    return [
      Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]),
      `duplicate [${from},+${len}) at ${at}`,
    ];
  },
  remove(b, r) {
    const from = r.int(b.length),
      len = 1 + r.int(Math.min(256, b.length - from));
    return [Buffer.concat([b.subarray(0, from), b.subarray(from + len)]), `remove [${from},+${len})`];
  },
};

// zip (torch.save >= 1.6): the end-of-central-directory record and the central directory entries.
function eocdOffset(b) {
  for (let off = b.length - 22; off >= 0 && off > b.length - 22 - 65557; off--)
    if (b.readUInt32LE(off) === 0x06054b50) return off;
  return -1;
}

function zipEntries(b) {
  const e = eocdOffset(b);
  if (e < 0) return [];
  const out = [];
  let p = b.readUInt32LE(e + 16);
  if (e + 22 > b.length) return out;
  for (let j = 0; j < b.readUInt16LE(e + 10) && p + 46 <= b.length && b.readUInt32LE(p) === 0x02014b50; j++) {
    const nameLen = b.readUInt16LE(p + 28),
      extra = b.readUInt16LE(p + 30),
      comment = b.readUInt16LE(p + 32);
    const local = b.readUInt32LE(p + 42);
    if (p + 46 + nameLen > b.length || local + 30 > b.length) break; // an earlier mutation broke it
    const name = b.subarray(p + 46, p + 46 + nameLen).toString('latin1');
    const data = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    out.push({ cd: p, name, local, data, size: b.readUInt32LE(p + 24) });
    p += 46 + nameLen + extra + comment;
  }
  return out;
}

const zip = {
  eocdField(b, r) {
    const e = eocdOffset(b);
    if (e < 0) return generic.word(b, r);
    const [field, size] = r.pick([
      [8, 2],
      [10, 2],
      [12, 4],
      [16, 4],
    ]);
    const v = size === 2 ? r.pick([0, 1, 0xffff, 0x7fff]) : r.pick(WORDS);
    if (size === 2) b.writeUInt16LE(v, e + field);
    else put32(b, e + field, v);
    return [b, `zip EOCD +${field}=0x${v.toString(16)}`];
  },
  cdField(b, r) {
    const entries = zipEntries(b);
    if (!entries.length) return generic.word(b, r);
    const ent = r.pick(entries);
    const [field, size] = r.pick([
      [10, 2],
      [20, 4],
      [24, 4],
      [28, 2],
      [30, 2],
      [42, 4],
    ]);
    const v = size === 2 ? r.pick([0, 1, 8, 0xffff, 0x7fff]) : r.pick(WORDS);
    if (size === 2) b.writeUInt16LE(v, ent.cd + field);
    else put32(b, ent.cd + field, v);
    return [b, `zip central entry ${ent.name} +${field}=0x${v.toString(16)}`];
  },
  // Mutates a member's bytes (data.pkl most often) and fixes its CRC-32, so the unpickler sees it.
  member(b, r) {
    const entries = zipEntries(b);
    if (!entries.length) return generic.bitflip(b, r);
    const pkl = entries.find((x) => x.name.endsWith('data.pkl'));
    const ent = pkl && r() < 0.7 ? pkl : r.pick(entries);
    if (ent.size === 0 || ent.data + ent.size > b.length) return generic.bitflip(b, r);
    const part = Buffer.from(b.subarray(ent.data, ent.data + ent.size));
    const [m, what] = r.pick([generic.bitflip, generic.byte, generic.word, generic.qword])(part, r);
    m.copy(b, ent.data);
    const crc = crc32(m);
    b.writeUInt32LE(crc, ent.cd + 16);
    b.writeUInt32LE(crc, ent.local + 14);
    return [b, `zip member ${ent.name}: ${what}, CRC fixed`];
  },
};

// safetensors: the u64 header length, and numbers inside the JSON header (kept consistent).
const safetensors = {
  headerLength(b, r) {
    if (b.length < 8) return generic.byte(b, r);
    const n = b.readBigUInt64LE(0);
    const v = r.pick([...QWORDS, n + 1n, n - 1n, 0n, 1n, BigInt(b.length), BigInt(b.length - 8)]);
    b.writeBigUInt64LE(BigInt.asUintN(64, v), 0);
    return [b, `safetensors header length=${BigInt.asUintN(64, v)}`];
  },
  headerNumber(b, r) {
    if (b.length < 8) return generic.byte(b, r);
    const n = Number(b.readBigUInt64LE(0));
    if (n > b.length - 8) return generic.byte(b, r);
    const text = b.subarray(8, 8 + n).toString('latin1');
    const nums = [...text.matchAll(/-?\d+/g)];
    if (!nums.length) return generic.byte(b, r);
    const hit = r.pick(nums);
    const v = r.pick([
      '-1',
      '0',
      '4294967296',
      '9223372036854775807',
      '18446744073709551616',
      '1e300',
      '1e400',
      '1.5',
      '65536',
      '3037000500',
      '-9223372036854775808',
    ]);
    const header = Buffer.from(text.slice(0, hit.index) + v + text.slice(hit.index + hit[0].length), 'latin1');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    return [Buffer.concat([len, header, b.subarray(8 + n)]), `safetensors header number @${hit.index} ${hit[0]}->${v}`];
  },
};

// DICOM: explicit-VR 32-bit lengths (OB/OW/UN/SQ/UT) and Rows/Columns/Bits values, found by their tags.
function findTag(b, group, element) {
  const t = Buffer.alloc(4);
  t.writeUInt16LE(group, 0);
  t.writeUInt16LE(element, 2);
  return b.indexOf(t, 132);
}

const dicom = {
  tagValue(b, r) {
    const [g, e, name] = r.pick([
      [0x0028, 0x0010, 'Rows'],
      [0x0028, 0x0011, 'Columns'],
      [0x0028, 0x0100, 'BitsAllocated'],
      [0x0028, 0x0101, 'BitsStored'],
      [0x0028, 0x0002, 'SamplesPerPixel'],
    ]);
    const at = findTag(b, g, e);
    if (at < 0) return generic.word(b, r);
    const v = r.pick([0, 1, 0x7fff, 0x8000, 0xffff, 3, 32]);
    // US value: explicit VR puts it at +8, implicit at +8 too (4-byte length): both little-endian u16.
    if (at + 10 <= b.length) b.writeUInt16LE(v, at + 8);
    return [b, `dicom ${name}=${v}`];
  },
  length(b, r) {
    const [g, e, name] = r.pick([
      [0x7fe0, 0x0010, 'PixelData'],
      [0x0002, 0x0000, 'group length'],
      [0x0002, 0x0010, 'TransferSyntaxUID'],
      [0x0010, 0x0020, 'PatientID'],
    ]);
    const at = findTag(b, g, e);
    if (at < 0) return generic.word(b, r);
    const vr = b.subarray(at + 4, at + 6).toString('latin1');
    const v = r.pick(WORDS);
    if (['OB', 'OW', 'UN', 'SQ', 'UT', 'OF'].includes(vr)) put32(b, at + 8, v);
    else if (/^[A-Z]{2}$/.test(vr)) {
      if (at + 8 <= b.length) b.writeUInt16LE(v & 0xffff, at + 6);
    } else put32(b, at + 4, v); // implicit VR: a 32-bit length after the tag
    return [b, `dicom ${name} length=0x${v.toString(16)}`];
  },
};

// Hostile shapes: the resource-exhaustion classes of real attacks (deep nesting, self-reference, opcode
// floods, aliased members and ranges), sized so that the old readers crashed or ballooned on them.
const str8 = (t) => Buffer.concat([Buffer.from([0x8c, t.length]), Buffer.from(t, 'latin1')]); // SHORT_BINUNICODE
const times = (buf, n) => Buffer.concat(Array.from({ length: n }, () => buf));

/** Pickle opcodes that push one nested value of depth `d` (valid pickle, no PROTO/STOP). */
function chain(kind, d) {
  if (kind === 'ordereddict') {
    // OrderedDict([('k', OrderedDict([...]))]) built by REDUCE
    const od = Buffer.from('ccollections\nOrderedDict\n', 'latin1');
    return Buffer.concat([
      times(Buffer.concat([od, Buffer.from('((', 'latin1'), str8('k')]), d),
      od,
      Buffer.from(')R', 'latin1'),
      times(Buffer.from('\x86ltR', 'latin1'), d),
    ]);
  }
  if (kind === 'list') return Buffer.concat([times(Buffer.from(']'), d), times(Buffer.from('a'), d - 1)]);
  if (kind === 'tuple') return Buffer.concat([Buffer.from(')'), times(Buffer.from([0x85]), d)]);
  return Buffer.from(']2a', 'latin1'); // a list appended to itself
}

const FLOOD_OPS = ['N', ']', '}', ')', 'K\x01', '\x88'];
/** Opcodes inserted at the start of an object pickle: the pickle still ends with its own object. */
function hostileOps(r) {
  if (r() < 0.5) {
    const op = Buffer.from(r.pick(FLOOD_OPS), 'latin1');
    const bytes = r.pick([10_000, 300_000, 3_000_000]);
    return [
      times(op, Math.ceil(bytes / op.length)),
      `flood of ${bytes} bytes of ${JSON.stringify(op.toString('latin1'))}`,
    ];
  }
  const kind = r.pick(['ordereddict', 'list', 'tuple', 'self']);
  const d = r.pick([100, 256, 257, 5000, 100_000]);
  return [
    Buffer.concat([chain(kind, d), Buffer.from('0')]),
    `nested ${kind} ${kind === 'self' ? '' : `depth ${d} `}then POP`,
  ];
}

/** A stored zip of `members` ({name, data}), as torch.save writes one. */
function writeZip(members) {
  const locals = [],
    central = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'latin1');
    const crc = crc32(m.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(m.data.length, 18);
    lh.writeUInt32LE(m.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(m.data.length, 20);
    ch.writeUInt32LE(m.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, m.data);
    central.push(ch, name);
    offset += 30 + name.length + m.data.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(members.length, 8);
  eocd.writeUInt16LE(members.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

const shapes = {
  zip: {
    hostilePickle(b, r) {
      const entries = zipEntries(b);
      const pkl = entries.find((x) => x.name.endsWith('data.pkl'));
      if (!pkl) return generic.bitflip(b, r);
      const [ops, what] = hostileOps(r);
      const members = entries.map((e) => ({ name: e.name, data: Buffer.from(b.subarray(e.data, e.data + e.size)) }));
      const m = members.find((x) => x.name === pkl.name);
      m.data = Buffer.concat([m.data.subarray(0, 2), ops, m.data.subarray(2)]); // after PROTO
      return [writeZip(members), `zip data.pkl: ${what}`];
    },
    alias(b, r) {
      // one central entry pointed at another member's local header
      const entries = zipEntries(b);
      if (entries.length < 2) return generic.bitflip(b, r);
      const [a, c] = [r.pick(entries), r.pick(entries)];
      b.writeUInt32LE(c.local, a.cd + 42);
      return [b, `zip entry ${a.name} aliased to the member of ${c.name}`];
    },
  },
  legacy: {
    hostilePickle(b, r) {
      // the object pickle follows magic (15 bytes), protocol (6) and sys_info (a dict without '.')
      const at = b.indexOf(0x2e, 21) + 1;
      if (at <= 0) return generic.bitflip(b, r);
      const [ops, what] = hostileOps(r);
      return [Buffer.concat([b.subarray(0, at), ops, b.subarray(at)]), `legacy object pickle: ${what}`];
    },
  },
  safetensors: {
    alias(b, r) {
      // every tensor over the first one's bytes
      if (b.length < 8) return generic.byte(b, r);
      const n = Number(b.readBigUInt64LE(0));
      let header;
      try {
        header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
      } catch {
        return generic.bitflip(b, r);
      }
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      if (!names.length) return generic.bitflip(b, r);
      for (const k of names) header[k] = { ...header[names[0]] };
      const h = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(h.length));
      return [
        Buffer.concat([len, h, b.subarray(8 + n)]),
        `safetensors: ${names.length} tensors over the range of ${names[0]}`,
      ];
    },
    headerFlood(b, r) {
      const k = r.pick([1000, 100_000, 1_500_000]);
      const h = Buffer.concat([Buffer.from('{"x":['), times(Buffer.from('0,'), k), Buffer.from('0]}')]);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(h.length));
      return [Buffer.concat([len, h]), `safetensors header of ${k + 1} zeros`];
    },
  },
};

// DICOM shapes: the seeds are flat (file meta, then elements of defined length); these rebuild them with
// undefined-length sequences and items, encapsulated (RLE) pixel data and deflated bodies, valid or broken.
const IMPLICIT_LE = '1.2.840.10008.1.2',
  DEFLATED_LE = '1.2.840.10008.1.2.1.99',
  RLE_LOSSLESS = '1.2.840.10008.1.2.5';
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;
const u16 = (v) => {
  const x = Buffer.alloc(2);
  x.writeUInt16LE(v & 0xffff);
  return x;
};
const u32 = (v) => {
  const x = Buffer.alloc(4);
  x.writeUInt32LE(v >>> 0);
  return x;
};
const tagBytes = (group, element) => Buffer.concat([u16(group), u16(element)]);
const item = (length = UNDEFINED) => Buffer.concat([tagBytes(0xfffe, 0xe000), u32(length)]);
const ITEM_END = Buffer.concat([tagBytes(0xfffe, 0xe00d), u32(0)]);
const SEQUENCE_END = Buffer.concat([tagBytes(0xfffe, 0xe0dd), u32(0)]);

/** An element header (explicit VR unless `implicit`); `length` may be UNDEFINED (long VRs only). */
function header(group, element, vr, length, implicit) {
  if (implicit) return Buffer.concat([tagBytes(group, element), u32(length)]);
  if (LONG_VRS.has(vr))
    return Buffer.concat([tagBytes(group, element), Buffer.from(vr, 'latin1'), u16(0), u32(length)]);
  return Buffer.concat([tagBytes(group, element), Buffer.from(vr, 'latin1'), u16(length)]);
}

/** The seed's layout: meta elements, syntax, and the flat top-level elements (up to the first that does not parse). */
function dicomLayout(b) {
  if (b.length < 140 || b.toString('latin1', 128, 132) !== 'DICM') return undefined;
  const meta = [];
  let pos = 132;
  while (pos + 8 <= b.length && b.readUInt16LE(pos) === 0x0002) {
    const vr = b.toString('latin1', pos + 4, pos + 6);
    const long = LONG_VRS.has(vr);
    if (long && pos + 12 > b.length) return undefined;
    const length = long ? b.readUInt32LE(pos + 8) : b.readUInt16LE(pos + 6);
    const valueAt = pos + (long ? 12 : 8);
    if (valueAt + length > b.length) return undefined;
    meta.push({
      element: b.readUInt16LE(pos + 2),
      bytes: b.subarray(pos, valueAt + length),
      value: b.subarray(valueAt, valueAt + length),
    });
    pos = valueAt + length;
  }
  const metaEnd = pos;
  const ts = meta.find((m) => m.element === 0x0010);
  const syntax = ts ? ts.value.toString('latin1').replace(/[\0 ]+$/, '') : IMPLICIT_LE;
  const implicit = syntax === IMPLICIT_LE || !/^[A-Z]{2}$/.test(b.toString('latin1', pos + 4, pos + 6));
  const elements = [];
  while (pos + 8 <= b.length) {
    const group = b.readUInt16LE(pos),
      element = b.readUInt16LE(pos + 2);
    const vr = implicit ? '' : b.toString('latin1', pos + 4, pos + 6);
    const long = !implicit && LONG_VRS.has(vr);
    if (long && pos + 12 > b.length) break;
    const length = implicit ? b.readUInt32LE(pos + 4) : long ? b.readUInt32LE(pos + 8) : b.readUInt16LE(pos + 6);
    const valueAt = pos + (implicit ? 8 : long ? 12 : 8);
    if (length === UNDEFINED || valueAt + length > b.length) break;
    elements.push({ at: pos, group, element, vr, valueAt, length, end: valueAt + length });
    pos = valueAt + length;
  }
  return { meta, metaEnd, syntax, implicit, elements, end: pos };
}

/** Preamble, "DICM" and the meta group declaring `syntax` (the group length recomputed). */
function metaWithSyntax(d, syntax) {
  const uid = Buffer.from(syntax.length % 2 ? `${syntax}\0` : syntax, 'latin1');
  const rest = d.meta
    .filter((m) => m.element !== 0x0000 && m.element !== 0x0010)
    .map((m) => ({ element: m.element, bytes: m.bytes }));
  rest.push({ element: 0x0010, bytes: Buffer.concat([header(0x0002, 0x0010, 'UI', uid.length, false), uid]) });
  rest.sort((a, c) => a.element - c.element);
  const group = Buffer.concat(rest.map((m) => m.bytes));
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM'),
    header(0x0002, 0x0000, 'UL', 4, false),
    u32(group.length),
    group,
  ]);
}

const usValue = (b, d, element) => {
  const e = d.elements.find((x) => x.group === 0x0028 && x.element === element);
  return e && e.length >= 2 ? b.readUInt16LE(e.valueAt) : undefined;
};

/** PackBits as literal runs only (valid, if not small). */
function packBits(bytes) {
  const out = [];
  for (let i = 0; i < bytes.length; i += 128) {
    const run = bytes.subarray(i, i + 128);
    out.push(Buffer.from([run.length - 1]), run);
  }
  return Buffer.concat(out);
}

/** One RLE Lossless frame (PS3.5 G) of native little-endian samples: one segment per byte, most significant first. */
function rleFrame(pixels, bytesPerSample) {
  const n = Math.floor(pixels.length / bytesPerSample);
  const segments = [];
  for (let s = 0; s < bytesPerSample; s++) {
    const plane = Buffer.alloc(n);
    for (let i = 0; i < n; i++) plane[i] = pixels[i * bytesPerSample + (bytesPerSample - 1 - s)];
    segments.push(packBits(plane));
  }
  const head = Buffer.alloc(64);
  head.writeUInt32LE(segments.length, 0);
  let offset = 64;
  segments.forEach((seg, s) => {
    head.writeUInt32LE(offset, 4 + 4 * s);
    offset += seg.length;
  });
  const frame = Buffer.concat([head, ...segments]);
  return frame.length % 2 ? Buffer.concat([frame, Buffer.from([0])]) : frame;
}

/**
 * A raw deflate stream of `mib` MiB (and a few bytes) of zeros, written directly: fixed-Huffman blocks of a
 * zero literal and 4070 copies of (length 258, distance 1), 13 bits each, so every block is a whole 6,616
 * bytes that inflates to 1,050,061 (a 160-fold bomb, built in microseconds).
 */
function zeroBomb(mib) {
  const out = [];
  let acc = 0,
    n = 0;
  const put = (v, len) => {
    for (let i = 0; i < len; i++) {
      acc |= ((v >> i) & 1) << n;
      if (++n === 8) {
        out.push(acc);
        acc = 0;
        n = 0;
      }
    }
  };
  const code = (c, len) => {
    for (let i = len - 1; i >= 0; i--) put((c >> i) & 1, 1);
  }; // Huffman codes go most significant bit first
  put(0, 1);
  put(1, 2); // not final; fixed Huffman
  code(0x30, 8); // literal 0
  for (let i = 0; i < 4070; i++) {
    code(0xc5, 8);
    code(0, 5);
  } // length 258 (code 285), distance 1 (code 0)
  code(0, 7); // end of block
  const block = Buffer.from(out);
  const blocks = Math.ceil((mib * 2 ** 20) / 1_050_061);
  return Buffer.concat([times(block, blocks), Buffer.from([0x03, 0x00])]); // a final fixed block holding only its end
}

/**
 * Undefined-length sequences nested `depth` deep at the `k`th element boundary, each around one undefined-length item.
 */
function nestedSequences(b, d, r) {
  const depth = r.pick([1, 2, 8, 64, 65, 3000]);
  const at = d.elements.length ? r.pick(d.elements).at : d.end;
  const un = !d.implicit && r() < 0.25; // an undefined-length UN: implicit VR inside (PS3.5 6.2.2)
  const inner = un || d.implicit;
  const open = Buffer.concat([header(0x0008, 0x1115, un ? 'UN' : 'SQ', UNDEFINED, d.implicit), item()]);
  const innerOpen = Buffer.concat([header(0x0008, 0x1115, 'SQ', UNDEFINED, inner), item()]);
  const content = Buffer.concat([header(0x0008, 0x1150, 'UI', 4, inner), Buffer.from('1.2\0')]);
  const closers = Array.from({ length: depth }, () => Buffer.concat([ITEM_END, SEQUENCE_END]));
  const twist = r.pick([
    '',
    '',
    'no sequence delimiter',
    'no item delimiter',
    'delimiters swapped',
    'item of defined length past its sequence',
  ]);
  if (twist === 'no sequence delimiter') closers[r.int(depth)] = ITEM_END;
  if (twist === 'no item delimiter') closers[r.int(depth)] = SEQUENCE_END;
  if (twist === 'delimiters swapped') closers[r.int(depth)] = Buffer.concat([SEQUENCE_END, ITEM_END]);
  const opens = [open, ...Array.from({ length: depth - 1 }, () => innerOpen)];
  if (twist === 'item of defined length past its sequence')
    opens[opens.length - 1] = Buffer.concat([opens[opens.length - 1].subarray(0, -8), item(0x7ffffff0)]);
  const seq = Buffer.concat([...opens, content, ...closers]);
  return [
    Buffer.concat([b.subarray(0, at), seq, b.subarray(at)]),
    `dicom undefined-length ${un ? 'UN' : 'SQ'} sequences nested ${depth} deep at byte ${at}${twist ? `, ${twist}` : ''}`,
  ];
}

const dicomShapes = {
  // Rows and Columns both set: sizes under the pixel limit whose decode would still hold gigabytes, and strips.
  declaredSize(b, r) {
    const [rows, columns] = r.pick([
      [10000, 10000],
      [8000, 8000],
      [25, 60000],
      [60000, 25],
      [65535, 1500],
    ]);
    const at = [findTag(b, 0x0028, 0x0010), findTag(b, 0x0028, 0x0011)];
    if (at.some((a) => a < 0 || a + 10 > b.length)) return generic.word(b, r);
    b.writeUInt16LE(rows, at[0] + 8);
    b.writeUInt16LE(columns, at[1] + 8);
    return [b, `dicom declares ${columns} x ${rows}`];
  },
  undefinedSequence(b, r) {
    const d = dicomLayout(b);
    return d ? nestedSequences(b, d, r) : generic.word(b, r);
  },
  // An element of defined length made undefined-length (as UN in explicit files): it must then hold items.
  undefinedLength(b, r) {
    const d = dicomLayout(b);
    if (!d || !d.elements.length) return generic.word(b, r);
    const e = r.pick(d.elements);
    const h = header(e.group, e.element, 'UN', UNDEFINED, d.implicit);
    const tail = r() < 0.5 ? SEQUENCE_END : Buffer.alloc(0);
    return [
      Buffer.concat([b.subarray(0, e.at), h, b.subarray(e.valueAt, e.end), tail, b.subarray(e.end)]),
      `dicom (${e.group.toString(16)},${e.element.toString(16)}) length undefined${tail.length ? ', then a sequence delimiter' : ''}`,
    ];
  },
  // Native pixel data re-encoded as RLE Lossless in encapsulated fragments, valid or with one lie.
  encapsulated(b, r) {
    const d = dicomLayout(b);
    const px = d?.elements.find((x) => x.group === 0x7fe0 && x.element === 0x0010);
    if (!d || !px || d.syntax === DEFLATED_LE) return generic.word(b, r);
    const bytesPerSample = (usValue(b, d, 0x0100) ?? 16) >= 16 ? 2 : 1;
    let frame = rleFrame(b.subarray(px.valueAt, px.end), bytesPerSample);
    let offsetTable = item(0);
    let fragments = [item(frame.length), frame];
    let end = SEQUENCE_END;
    const twist = r.pick([
      '',
      '',
      'split into fragments',
      '200000 empty fragments',
      'fragment of undefined length',
      'fragment declaring 2 GiB',
      'no sequence delimiter',
      'offset table past the fragments',
      'RLE segment offsets past the frame',
    ]);
    if (twist === 'split into fragments') {
      const cut = 2 * (1 + r.int(Math.max(1, frame.length / 2 - 1)));
      fragments = [item(cut), frame.subarray(0, cut), item(frame.length - cut), frame.subarray(cut)];
    } else if (twist === '200000 empty fragments') fragments = [times(item(0), 200_000), ...fragments];
    else if (twist === 'fragment of undefined length') fragments[0] = item(UNDEFINED);
    else if (twist === 'fragment declaring 2 GiB') fragments[0] = item(0x7ffffffe);
    else if (twist === 'no sequence delimiter') end = Buffer.alloc(0);
    else if (twist === 'offset table past the fragments')
      offsetTable = Buffer.concat([item(8), u32(0), u32(0x7fffffff)]);
    else if (twist === 'RLE segment offsets past the frame') {
      frame = Buffer.from(frame);
      frame.writeUInt32LE(15, 0);
      for (let s = 1; s < 15; s++) frame.writeUInt32LE(0xfffffff0 - s, 4 * s);
      fragments[1] = frame;
    }
    const pixels = Buffer.concat([header(0x7fe0, 0x0010, 'OB', UNDEFINED, d.implicit), offsetTable, ...fragments, end]);
    // Implicit VR seeds stay implicit in the body: the guard, like pydicom, trusts the bytes over the syntax.
    const out = Buffer.concat([
      metaWithSyntax(d, RLE_LOSSLESS),
      b.subarray(d.metaEnd, px.at),
      pixels,
      b.subarray(px.end),
    ]);
    return [out, `dicom encapsulated RLE pixel data${twist ? `, ${twist}` : ''}`];
  },
  // The body deflated (Deflated Explicit VR Little Endian), valid, cut, or replaced by a bomb of zeros.
  deflated(b, r) {
    const d = dicomLayout(b);
    if (!d || d.syntax === DEFLATED_LE) return generic.word(b, r);
    let body = deflateRawSync(b.subarray(d.metaEnd));
    const twist = r.pick(['', '', 'truncated', 'trailing bytes', 'bomb']);
    let what = twist;
    if (twist === 'truncated') body = body.subarray(0, r.int(body.length));
    else if (twist === 'trailing bytes') body = Buffer.concat([body, Buffer.from('junk after the stream')]);
    else if (twist === 'bomb') {
      const mib = r.pick([1, 64, 300]);
      body = zeroBomb(mib);
      what = `a bomb of ${mib} MiB of zeros in ${body.length} bytes`;
    }
    return [Buffer.concat([metaWithSyntax(d, DEFLATED_LE), body]), `dicom deflated body${what ? `, ${what}` : ''}`];
  },
};

const BY_FORMAT = {
  zip: { ...generic, ...zip, member2: zip.member, ...shapes.zip }, // member mutations twice as likely: the CRC stops the rest
  legacy: { ...generic, ...shapes.legacy },
  safetensors: { ...generic, ...safetensors, ...shapes.safetensors },
  dicom: { ...generic, ...dicom, ...dicomShapes },
  png: { ...generic, ...png, declaredSize2: png.declaredSize }, // the CRC stops most byte mutations: sizes twice as likely
  jpeg: { ...generic, ...jpeg, declaredSize2: jpeg.declaredSize },
  db: { bitflip: generic.bitflip, word: generic.word, truncate: generic.truncate, ...db },
  spec: {
    byte: generic.byte,
    truncate: generic.truncate,
    ...spec,
    hostileField2: spec.hostileField,
    hostileField3: spec.hostileField,
  },
};

export function formatOf(file) {
  if (file.endsWith('.safetensors')) return 'safetensors';
  if (file.endsWith('.dcm')) return 'dicom';
  if (file.endsWith('.png')) return 'png';
  if (file.endsWith('.jpg')) return 'jpeg';
  if (file.endsWith('.db')) return 'db';
  if (file.endsWith('.json')) return 'spec';
  return file.includes('legacy') ? 'legacy' : 'zip';
}

/** The mutant number `index` of `bytes` (a seed file of `format`) under `seed`: 1-3 stacked mutations. */
export function mutant(bytes, format, seed, index) {
  const r = rng((seed * 0x9e3779b1 + index * 0x85ebca6b) >>> 0);
  const ops = BY_FORMAT[format];
  const names = Object.keys(ops);
  let b = Buffer.from(bytes);
  const what = [];
  const k = 1 + (r() < 0.3 ? r.int(3) : 0);
  for (let j = 0; j < k && b.length > 0; j++) {
    const [next, desc] = ops[r.pick(names)](b, r);
    b = Buffer.from(next);
    what.push(desc);
  }
  return { bytes: b, what: what.join('; ') };
}
