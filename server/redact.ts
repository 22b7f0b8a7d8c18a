/**
 * Keeps filesystem paths out of answers and metrics: a bundle's directory becomes its name, and any
 * other absolute path is cut to its last segment.
 */
import type { BundleRegistry } from './registry.js';

/** `text` with every bundle directory replaced by `bundle "<name>"` and other absolute paths by `.../<file>`. */
export function redactPaths(text: string, registry: Pick<BundleRegistry, 'sources'>): string {
  let out = text;
  for (const s of [...registry.sources].sort((a, b) => b.dir.length - a.dir.length)) {
    if (s.dir.length > 1) out = out.split(s.dir).join(`bundle "${s.name}"`);
  }
  return out.replace(/(^|[\s"'`(=[:,])(?:[A-Za-z]:)?[\\/](?:[^\s"'`\\/]+[\\/])*([^\s"'`\\/]*)/g, (_m, pre, last) =>
    last ? `${pre}.../${last}` : `${pre}...`,
  );
}
