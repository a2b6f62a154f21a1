/** Tensors across the JS/native boundary: TypedArrays in and out, with dtype and shape checks. */
import { OptionError } from './errors.js';
import { native, type NativeTensor, type TypedArrayLike } from './native.js';
import { expectDevice, expectShape } from './validate.js';

export type { NativeTensor as Tensor, TypedArrayLike } from './native.js';

const SUPPORTED = [Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array, Int16Array];

/**
 * Copies `data` into a new native tensor of `shape` (default: 1-D). The tensor owns its memory; call
 * `dispose()` to free it early (idempotent), otherwise the garbage collector frees it.
 */
export function tensor(data: TypedArrayLike, shape?: number[]): NativeTensor {
  if (!SUPPORTED.some((T) => data instanceof T)) {
    throw new OptionError(
      'data',
      'a Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array or Int16Array',
      data,
    );
  }
  const dims = shape === undefined ? [data.length] : expectShape(shape, 'shape');
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new OptionError(
      'shape',
      `dimensions whose product is ${data.length}`,
      `[${dims.join(', ')}] (${count} elements)`,
    );
  return new (native().Tensor)(data, dims);
}

/** Moves or copies a tensor to a device ('cpu', 'cuda', 'cuda:N', 'auto'). */
export function toDevice(t: NativeTensor, device: string): Promise<NativeTensor> {
  return t.to(expectDevice(device));
}
