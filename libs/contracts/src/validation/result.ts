/** Validation outcome. Callers decide what a failure means (reject, park, throw their own error class). */
export type ValidationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: string[] };
