/**
 * Mailing a report: the report as an attachment, the key numbers in the body,
 * over SMTP (host, port, implicit TLS or STARTTLS, optional auth) or the local
 * `sendmail`. The message is built and sent by nodemailer.
 */
import nodemailer from "nodemailer";

export interface MailSettings {
  /** Recipient(s), comma separated. */
  to?: string;
  /** When `to` is not set: mail `<job user>@<domain>`. */
  domain?: string;
  /** Sender (default `aimeter@<this host>`). */
  from?: string;
  smtpHost?: string;
  /** Default 587 with STARTTLS, 465 with `tls`, else 25. */
  smtpPort?: number;
  /** `auto`: use STARTTLS when the server offers it; `require`: fail without; `off`: never. */
  starttls: "auto" | "require" | "off";
  /** Implicit TLS from the first byte (SMTPS, usually port 465). */
  tls: boolean;
  user?: string;
  /** File holding the SMTP password (kept out of process lists and config). */
  passwordFile?: string;
  /** Path of a sendmail-compatible program; used when no SMTP host is set. */
  sendmail?: string;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  attachments: { filename: string; path?: string; content?: string; contentType?: string }[];
}

export interface SentInfo {
  transport: string;
  messageId?: string;
  accepted: string[];
  rejected: string[];
}

/** The part of nodemailer's API used here (the package ships no types). */
interface Transporter {
  sendMail(m: Record<string, unknown>): Promise<{
    messageId?: string;
    accepted?: unknown[];
    rejected?: unknown[];
  }>;
  close?(): void;
}
const mailer = nodemailer as unknown as {
  createTransport(opts: Record<string, unknown>): Transporter;
};

const SENDMAIL_PATHS = ["/usr/sbin/sendmail", "/usr/lib/sendmail"];

/** Who gets the mail: `to`, else `<user>@<domain>`, else nobody (undefined). */
export function recipient(s: MailSettings, user?: string): string | undefined {
  if (s.to && s.to.trim()) return s.to.trim();
  if (s.domain && user) return `${user}@${s.domain.replace(/^@/, "")}`;
  return undefined;
}

function exists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

/** How the mail would go: an SMTP server, a sendmail program, or null when neither is set up. */
export function describeTransport(s: MailSettings): string | null {
  if (s.smtpHost) return `smtp://${s.smtpHost}:${smtpPort(s)}`;
  const sm = s.sendmail ?? SENDMAIL_PATHS.find(exists);
  return sm ? `sendmail ${sm}` : null;
}

function smtpPort(s: MailSettings): number {
  return s.smtpPort ?? (s.tls ? 465 : s.starttls === "off" ? 25 : 587);
}

function createTransport(s: MailSettings): { t: Transporter; name: string } {
  if (s.smtpHost) {
    let pass: string | undefined;
    if (s.user) {
      if (!s.passwordFile) throw new Error("SMTP user set but no password file");
      pass = Deno.readTextFileSync(s.passwordFile).replace(/\r?\n$/, "");
    }
    const port = smtpPort(s);
    return {
      name: `smtp://${s.smtpHost}:${port}`,
      t: mailer.createTransport({
        host: s.smtpHost,
        port,
        secure: s.tls,
        requireTLS: !s.tls && s.starttls === "require",
        ignoreTLS: !s.tls && s.starttls === "off",
        auth: s.user ? { user: s.user, pass } : undefined,
        connectionTimeout: 20_000,
        greetingTimeout: 20_000,
        socketTimeout: 60_000,
      }),
    };
  }
  const path = s.sendmail ?? SENDMAIL_PATHS.find(exists);
  if (!path) {
    throw new Error(
      "no mail transport: set an SMTP host (--smtp-host, AIMETER_MAIL_SMTP_HOST) or install sendmail",
    );
  }
  return {
    name: `sendmail ${path}`,
    t: mailer.createTransport({ sendmail: true, path, newline: "unix" }),
  };
}

export function defaultFrom(): string {
  let host = "localhost";
  try {
    host = Deno.hostname();
  } catch { /* keep localhost */ }
  return `aimeter@${host}`;
}

/** Send one message; throws with the server's or program's answer on failure. */
export async function sendMail(s: MailSettings, m: MailMessage): Promise<SentInfo> {
  const { t, name } = createTransport(s);
  try {
    const info = await t.sendMail({
      from: s.from ?? defaultFrom(),
      to: m.to,
      subject: m.subject,
      text: m.text,
      attachments: m.attachments,
    });
    return {
      transport: name,
      messageId: info.messageId,
      accepted: (info.accepted ?? []).map(String),
      rejected: (info.rejected ?? []).map(String),
    };
  } finally {
    t.close?.();
  }
}
