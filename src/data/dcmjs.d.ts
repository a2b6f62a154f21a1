// dcmjs ships no types; only the few calls the DICOM decoder and the tests use are declared.
declare module 'dcmjs' {
  interface DicomDict {
    meta: Record<string, { vr: string; Value: unknown[] }>;
    dict: Record<string, { vr: string; Value: unknown[] }>;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  const dcmjs: {
    data: {
      DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDict };
      DicomMetaDictionary: {
        naturalizeDataset(dict: DicomDict['dict']): Record<string, unknown>;
        denaturalizeDataset(ds: Record<string, unknown>): DicomDict['dict'];
        /** Data dictionary by tag, '(0028,3010)': { vr: 'SQ', name: 'VOILUTSequence', ... }. */
        dictionary: Record<string, { vr?: string; name?: string } | undefined>;
        /** Data dictionary by keyword, 'PatientID': { tag: '(0010,0020)', vr: 'LO', ... }. */
        nameMap: Record<string, { tag: string; vr?: string } | undefined>;
      };
      DicomDict: new (meta: DicomDict['meta']) => DicomDict;
    };
  };
  export default dcmjs;
}
