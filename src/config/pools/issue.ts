import type { DataPath, Target } from './yaml-locate.js';

/** A problem found in one file's data, located by data path; turned into file:line:col at the end. */
export interface Issue {
  path: DataPath;
  /** Point at the key naming `path` instead of its value (unknown keys, duplicates). */
  target?: Target;
  message: string;
}
