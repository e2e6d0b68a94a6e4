/** What `pickVersion` found among the kept versions for what the operator typed. */
export type Pick<V> =
  | { readonly kind: 'found'; readonly version: V }
  | { readonly kind: 'none' }
  | { readonly kind: 'ambiguous'; readonly matches: readonly V[] };

/**
 * The kept version an operator means: the newest when `prefix` is undefined, else the one whose
 * md5 starts with `prefix` (any length, case ignored: what `status` prints, or the whole md5).
 * `kept` is newest first, each md5 once. Two or more matches are ambiguous; none is `none`.
 */
export function pickVersion<V extends { readonly md5: string }>(kept: readonly V[], prefix: string | undefined): Pick<V> {
  // No md5 given: the newest kept version, if there is one.
  if (prefix === undefined) return kept[0] ? { kind: 'found', version: kept[0] } : { kind: 'none' };
  const want = prefix.toLowerCase();
  const matches = kept.filter((k) => k.md5.startsWith(want));
  // Several versions share the prefix: the operator must type more of it.
  if (matches.length > 1) return { kind: 'ambiguous', matches };
  return matches[0] ? { kind: 'found', version: matches[0] } : { kind: 'none' };
}

/** True for what `pickVersion` can take as a prefix: 1 to 32 hex digits. */
export function isMd5Prefix(s: string): boolean {
  return /^[0-9a-fA-F]{1,32}$/.test(s);
}
