import { type Stats, unwatchFile, watchFile } from "node:fs";

/**
 * Calls `onChange` when a file's content may have changed (size, mtime or inode). Polls the file's
 * stat every `intervalMs`: unlike fs.watch it survives editors that replace files by renaming,
 * and a poll of 250 ms keeps a change visible well within a second.
 */
export function watchPath(file: string, onChange: () => void, intervalMs = 250): () => void {
  const listener = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) onChange();
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => unwatchFile(file, listener);
}
