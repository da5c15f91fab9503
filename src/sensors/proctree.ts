/**
 * The wrapped command's process tree, from procfs: the root pid and every
 * descendant (children, grandchildren, ...), found through each process's
 * parent pid in `/proc/<pid>/stat`.
 */

/** Parse the parent pid out of a `/proc/<pid>/stat` line (the comm field may hold spaces and parens). */
export function parseStatPpid(stat: string): number | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const rest = stat.slice(close + 2).split(" ");
  // rest[0] = state, rest[1] = ppid
  const ppid = Number(rest[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** Every pid of the tree rooted at `root` (root included), or an empty set when root is gone. */
export function processTree(procfsRoot: string, root: number): Set<number> {
  const children = new Map<number, number[]>();
  let rootAlive = false;
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(procfsRoot);
  } catch {
    return new Set();
  }
  for (const e of entries) {
    const c = e.name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(e.name);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`${procfsRoot}/${pid}/stat`);
    } catch {
      continue; // exited while we looked
    }
    if (pid === root) rootAlive = true;
    const ppid = parseStatPpid(stat);
    if (ppid === undefined) continue;
    let list = children.get(ppid);
    if (!list) children.set(ppid, list = []);
    list.push(pid);
  }
  const tree = new Set<number>();
  if (!rootAlive) return tree;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    if (tree.has(pid)) continue;
    tree.add(pid);
    for (const child of children.get(pid) ?? []) stack.push(child);
  }
  return tree;
}
