/** A spec in the spellings specs used before the recipe schema (see legacy-spec.mjs). */
export declare const LEGACY_SPEC: Record<string, unknown>;
