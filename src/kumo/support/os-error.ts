/**
 * Node's file errors spelled the way Rust's std::io::Error prints them, so
 * messages read like KumoMTA's (`No such file or directory (os error 2)`).
 */
const RUST_IO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory (os error 2)',
  EACCES: 'Permission denied (os error 13)',
  EPERM: 'Operation not permitted (os error 1)',
  EISDIR: 'Is a directory (os error 21)',
  ENOTDIR: 'Not a directory (os error 20)',
  EMFILE: 'Too many open files (os error 24)',
  ELOOP: 'Too many levels of symbolic links (os error 40)',
  ENAMETOOLONG: 'File name too long (os error 36)',
};

export function osErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && RUST_IO_TEXT[code]) return RUST_IO_TEXT[code]!;
  return err instanceof Error ? err.message : String(err);
}
