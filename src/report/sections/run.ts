/** The run: command, hosts, times, exit code, versions, hardware, SLURM job. */
import { esc, facts } from "../html.ts";
import { duration, utc } from "../format.ts";
import { isObj, type Section, wrapSection } from "./common.ts";

/** A command line as a shell would show it (quoted where needed). Plain text. */
export function shellJoin(cmd: unknown): string {
  if (!Array.isArray(cmd)) return typeof cmd === "string" ? cmd : "";
  return cmd.map((a) => {
    const s = String(a);
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`;
  }).join(" ");
}

function kv(o: unknown): string {
  if (!isObj(o)) return "";
  const e = Object.entries(o);
  if (!e.length) return "";
  return e.map(([k, v]) => `${esc(k)} <code>${esc(v)}</code>`).join(", ");
}

export const runSection: Section = {
  id: "run",
  title: "Run",
  render(ctx) {
    const r = ctx.summary.run ?? ({} as typeof ctx.summary.run);
    const cmd = shellJoin(r.command);
    const exit = r.exit_code === null || r.exit_code === undefined
      ? '<span class="muted">none (recording only, or not finished)</span>'
      : r.exit_code === 0
      ? "0 (success)"
      : `<b class="bad-text">${esc(r.exit_code)}</b>${
        r.exit_code > 128 ? ` (killed by signal ${r.exit_code - 128})` : ""
      }`;
    const gpus = Array.isArray(r.gpu_models) ? r.gpu_models : [];
    const gpuText = (() => {
      const counts = new Map<string, number>();
      for (const g of gpus) counts.set(String(g), (counts.get(String(g)) ?? 0) + 1);
      return [...counts].map(([g, n]) => `${n > 1 ? `${n} × ` : ""}${esc(g)}`).join(", ");
    })();
    const slurm = isObj(r.slurm)
      ? (() => {
        const id = r.slurm.SLURM_JOB_ID ?? r.slurm.job_id ?? r.slurm.jobid;
        const name = r.slurm.SLURM_JOB_NAME ?? r.slurm.job_name;
        const rest = Object.fromEntries(
          Object.entries(r.slurm).filter(([k]) =>
            !["SLURM_JOB_ID", "job_id", "jobid", "SLURM_JOB_NAME", "job_name"].includes(k)
          ),
        );
        return [id ? `job <code>${esc(id)}</code>` : "", name ? `“${esc(name)}”` : "", kv(rest)]
          .filter(Boolean).join(" · ");
      })()
      : "";
    const files = ctx.traces.map((t) =>
      t.location?.files?.length > 1
        ? `${t.location.files.length} segments in ${t.location.dir ?? "?"}`
        : t.location?.files?.[0] ?? "?"
    );
    const body =
      (cmd
        ? `<code class="command" aria-label="Command">${esc(cmd)}</code>`
        : '<p class="muted">No command: the node was recorded (aimeter record).</p>') +
      facts([
        [
          ctx.multiNode ? "Nodes" : "Host",
          ctx.hosts.map((h) => `<code>${esc(h)}</code>`).join(", "),
        ],
        ["Start", esc(utc(r.start))],
        ["End", esc(utc(r.end))],
        ["Duration", esc(duration(r.duration_s))],
        ["Exit code", exit],
        ["Sampling", r.interval_s ? `every ${esc(duration(r.interval_s))}` : ""],
        ["Mode", r.mode ? esc(r.mode) : ""],
        ["CPU", r.cpu_model ? esc(r.cpu_model) : ""],
        ["GPUs", gpuText],
        ["Drivers", kv(r.driver_versions)],
        ["SLURM", slurm],
        ["aimeter", esc(r.aimeter_version ?? "")],
        [
          "Trace" + (files.length > 1 ? "s" : ""),
          files.map((f) => `<code>${esc(f)}</code>`).join("<br>"),
        ],
      ]);
    return wrapSection({ id: "run", title: "Run", body });
  },
};
