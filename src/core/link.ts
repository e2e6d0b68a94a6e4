/**
 * What a listed path is, as far as symbolic links go: gathered by io/link.ts (an lstat, and a
 * realpath and a stat for a link). `target` is the absolute path the link resolves to; for a
 * dangling link the path it points at, for a loop its first hop.
 */
export type PathShape =
  | { readonly kind: 'plain' }
  | { readonly kind: 'link'; readonly target: string; readonly reaches: 'file' | 'absent' | 'folder' | 'other' | 'loop' };

/**
 * `plain`: read, watched and written at the listed path itself (absent: created there).
 * `through`: a link to a regular file, read and watched through it, written to `target`.
 * `broken`: a link that reaches no regular file: the file is absent here, `message` is its
 * problem, and nothing is written (neither at the target nor over the link).
 */
export type LinkVerdict =
  | { readonly kind: 'plain' }
  | { readonly kind: 'through'; readonly target: string }
  | { readonly kind: 'broken'; readonly target: string; readonly message: string };

const NOT_WRITTEN = 'a peer\'s version is not written until it is fixed';

/** Decides how the node treats the listed path `listed` of shape `shape`. */
export function judgeLink(listed: string, shape: PathShape): LinkVerdict {
  // Not a link: the listed path is the file.
  if (shape.kind === 'plain') return shape;
  const { target } = shape;
  switch (shape.reaches) {
    // A link to a regular file: the target is the file.
    case 'file':
      return { kind: 'through', target };
    // Dangling: creating the target would be a write the operator never listed, replacing the link would break it.
    case 'absent':
      return { kind: 'broken', target, message: `${listed} is a dangling symbolic link: its target ${target} does not exist (create it, or point the link at a file); ${NOT_WRITTEN}` };
    case 'folder':
      return { kind: 'broken', target, message: `${listed} is a symbolic link to the folder ${target}, not to a file; ${NOT_WRITTEN}` };
    case 'other':
      return { kind: 'broken', target, message: `${listed} is a symbolic link to ${target}, which is not a regular file; ${NOT_WRITTEN}` };
    // A loop (ELOOP): it resolves to nothing.
    case 'loop':
      return { kind: 'broken', target, message: `${listed} is a symbolic link that never resolves (a loop through ${target}); ${NOT_WRITTEN}` };
  }
}

/** The absolute path a verdict's link resolves to (what the state shows as `target`), null when the path is no link. */
export function linkTarget(v: LinkVerdict): string | null {
  return v.kind === 'plain' ? null : v.target;
}
