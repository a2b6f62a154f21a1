/**
 * The CLI flags of a training run small enough for a busy 2-core machine: ResNet50 from torchvision's
 * init, 64-px images, one epoch, no TTA, on the CPU. `set` changes or adds flags; null drops one.
 */
export function quickTrainFlags(set: Record<string, string | number | null> = {}): string[] {
  const flags: Record<string, string | number | null> = {
    arch: 'resnet50',
    init: 'none',
    epochs: 1,
    'batch-size': 8,
    'max-lr': 0.001,
    'image-size': 64,
    crop: 56,
    tta: 0,
    device: 'cpu',
    ...set,
  };
  return Object.entries(flags).flatMap(([k, v]) => (v === null ? [] : [`--${k}`, String(v)]));
}
