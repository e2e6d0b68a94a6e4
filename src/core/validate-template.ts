/**
 * A `validate` command template and its `{}`: the staged temp file's path, quoted for the shell
 * by entangled. A template that quotes `{}` itself (`"{}"` or `'{}'`, a common habit) would get
 * it quoted twice; such quotes are dropped. A `{}` inside a longer quoted word (`"--config={}"`)
 * is refused at load: inside double quotes the shell would still expand what the path holds, and
 * the quoting cannot be made right.
 */

/** Where each `{}` of a template sits: outside quotes, alone in its own quotes (`'{}'`, `"{}"`), or inside a longer quoted word. */
interface Placeholder {
  readonly at: number;
  readonly where: 'bare' | 'own-quotes' | 'in-quotes';
}

/** The `{}`s of `template`, read as /bin/sh reads quotes and backslashes. */
function placeholders(template: string): Placeholder[] {
  const found: Placeholder[] = [];
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
    } else if (c === '\\') {
      i++;
      continue;
    } else if (quote === '"' && c === '"') {
      quote = null;
      continue;
    } else if (quote === null && (c === "'" || c === '"')) {
      quote = c;
      continue;
    }
    if (c === '{' && template[i + 1] === '}') {
      // Known here: `{}` at i, inside `quote` (or none).
      const own = quote !== null && template[i - 1] === quote && template[i + 2] === quote;
      found.push({ at: i, where: quote === null ? 'bare' : own ? 'own-quotes' : 'in-quotes' });
      i++;
    }
  }
  return found;
}

/** Why `template` cannot be used as a validate command, or null when it can. */
export function templateProblem(template: string): string | null {
  const bad = placeholders(template).find((p) => p.where === 'in-quotes');
  if (bad === undefined) return null;
  return `{} (the staged file's path) is quoted by entangled; it may stand alone or in its own quotes, not inside a longer quoted word (at character ${bad.at + 1}): write it unquoted, e.g. nginx -t -c {}`;
}

/** The command for `template` with each `{}` (and the quotes of a `"{}"` or `'{}'`) replaced by `quoted`, the path already quoted for the shell. */
export function fillTemplate(template: string, quoted: string): string {
  let out = '';
  let from = 0;
  for (const p of placeholders(template)) {
    const [start, end] = p.where === 'own-quotes' ? [p.at - 1, p.at + 3] : [p.at, p.at + 2];
    out += template.slice(from, start) + quoted;
    from = end;
  }
  return out + template.slice(from);
}
