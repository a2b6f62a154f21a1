/**
 * The data contract shared by dataset readers, the phantom generator, the image cache and training.
 * A dataset reader turns a published on-disk layout into Samples; sampling turns those into the
 * fixed validation/test sets and the size-N training subsets of docs/protocol.md; the cache turns image paths
 * into uint8 pixels that training reads in batches.
 */

export interface Sample {
  /** Stable id, unique in its dataset (NIH: the "Image Index" file name). Recorded with every result. */
  id: string;
  /** Absolute path of the image file (PNG, JPEG or DICOM). */
  path: string;
  /** Patient id; splits never put one patient in two splits. */
  patientId: string;
  /**
   * One value per label of the dataset's `labels`: 1 positive, 0 negative, NaN unknown/ignored
   * (e.g. CheXpert uncertain with the "ignore" policy): masked out of loss and AUC.
   */
  targets: number[];
}

export interface Dataset {
  /** e.g. "nih", "chexpert", "mura", "csv:/path/file.csv", "phantom-chest". */
  name: string;
  /** Label names in output order. */
  labels: string[];
  samples: Sample[];
  /** Official splits when the layout has them (NIH train_val_list/test_list, CheXpert valid.csv...). */
  officialSplits?: { trainVal?: Set<string>; test?: Set<string> };
  /** Files that could not be used, with why (missing, unreadable); reported, never fatal. */
  skipped: { path: string; reason: string }[];
  /**
   * Where the dataset was read from (directory, or the CSV file). Part of the image cache's key, so two
   * copies of one layout (the real NIH and the phantom, both named "nih") never share a cache.
   */
  root?: string;
  /** Format 'auto': the reader chosen and the one line that says so ("Data: recognised ..."). */
  recognised?: { format: string; message: string };
  /** What the user must know about how the data was read (e.g. class folders named like patient ids). */
  warnings?: string[];
}

/** The splits one experiment uses; `train` is the size-N subset (may repeat positives when scarce). */
export interface Splits {
  labels: string[];
  train: Sample[];
  val: Sample[];
  test: Sample[];
}

/** Image geometry stored in the cache: every image becomes height x width uint8 grey. */
export interface ImageGeometry {
  width: number;
  height: number;
}
