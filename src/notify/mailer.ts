/**
 * The one way Offload sends an e-mail: one message over SMTP (nodemailer), each send on a
 * connection of its own, bounded by one timeoutMs per step (connecting, the greeting, each
 * command). Every failure is one of three errors, each saying in `details.retryable` whether the
 * same message may go through later:
 *
 * - SmtpUnavailableError: nothing listens, no answer in time, no greeting, TLS failed, or a 4xx
 *   reply (the server defers it): retryable.
 * - SmtpAuthFailedError: the login was refused: not retryable with the same credentials.
 * - SmtpRejectedError: a 5xx reply to the message or to every recipient: not retryable.
 *
 * Fields that become header lines (subject, recipients, header names and values) are refused when
 * they hold CR or LF, so no input can add a header or a recipient of its own.
 */
import { createTransport } from 'nodemailer';
import { ClosedError, InvalidOptionError, type OffloadError, SmtpAuthFailedError, SmtpRejectedError, SmtpUnavailableError } from '../core/errors.js';

export interface MailerConfig {
  host: string;
  port: number;
  /** TLS from the start (port 465). Without it, STARTTLS is used when the server offers it. */
  secure?: boolean;
  /** Fail unless the connection is upgraded with STARTTLS (ignored with `secure`). */
  requireTls?: boolean;
  auth?: { user: string; pass: string };
  /** The sender address: `ops@example.com` or `Offload <ops@example.com>`. */
  from: string;
  /** Each step of a send: connecting, the greeting, every command and its reply (default 10000). */
  timeoutMs?: number;
  tls?: {
    /** Default true: the server's certificate must be valid for `host`. */
    rejectUnauthorized?: boolean;
    /** PEM certificate(s) trusted in place of the system's roots. */
    ca?: string;
  };
}

export interface MailMessage {
  to: string | string[];
  subject: string;
  text: string;
  html?: string;
  /** Extra header lines, such as `X-Offload-Rule`. */
  headers?: Record<string, string>;
}

export interface SentMail {
  messageId: string;
  /** The recipients the server took; a recipient it refused while it took others is in `rejected`. */
  accepted: string[];
  rejected: string[];
}

export interface Mailer {
  /**
   * Hands one message to the SMTP server. Rejects with InvalidOptionError (before connecting),
   * SmtpUnavailableError, SmtpAuthFailedError or SmtpRejectedError.
   */
  send(message: MailMessage): Promise<SentMail>;
  /** Waits for the sends in flight; a send after close rejects with ClosedError. */
  close(): Promise<void>;
}

export const DEFAULT_MAIL_TIMEOUT_MS = 10_000;

/** Throws InvalidOptionError naming the field when the config cannot work. */
export function createMailer(config: MailerConfig): Mailer {
  if (config === null || typeof config !== 'object') throw new InvalidOptionError('config', 'the mailer needs a config object with host, port and from');
  const host = validHost(config.host);
  const port = validPort(config.port);
  const from = validAddress('from', config.from);
  const timeoutMs = validTimeout(config.timeoutMs);
  const auth = validAuth(config.auth);
  const tls = validTls(config.tls);

  const transport = createTransport({
    host,
    port,
    secure: config.secure === true,
    requireTLS: config.requireTls === true,
    ...(auth === undefined ? {} : { auth }),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    ...(tls === undefined ? {} : { tls }),
    // A message is built from the fields given, never from files or URLs named in them.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });

  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  const deliver = async (message: MailMessage): Promise<SentMail> => {
    const fields = validMessage(message);
    try {
      const info = await transport.sendMail({ from, ...fields });
      return { messageId: info.messageId, accepted: info.accepted.map(String), rejected: info.rejected.map(String) };
    } catch (err) {
      throw smtpError(err, host, port, auth?.user);
    }
  };

  return {
    send(message) {
      if (closed) return Promise.reject(new ClosedError('This mailer', 'Create another with createMailer().'));
      const sending = deliver(message);
      const tracked = sending.then(
        () => {},
        () => {},
      );
      inFlight.add(tracked);
      void tracked.then(() => inFlight.delete(tracked));
      return sending;
    },
    async close() {
      closed = true;
      await Promise.all(inFlight);
      transport.close();
    },
  };
}

// ---- what nodemailer says → which error --------------------------------------------------------

interface NodemailerError {
  message?: string;
  code?: string;
  /** The system error's code under nodemailer's own (ECONNREFUSED under ECONNECTION). */
  originalCode?: string;
  response?: string;
  responseCode?: number;
  command?: string;
}

const AUTH_CODES = new Set(['EAUTH', 'ENOAUTH']);
/** 530: authentication required (a login was expected and none was made); 535: credentials invalid. */
const AUTH_REPLIES = new Set([530, 535]);
/** Refusals of the message itself that came without a reply (nodemailer's own checks of the envelope). */
const MESSAGE_CODES = new Set(['EENVELOPE', 'EMESSAGE']);

function smtpError(err: unknown, host: string, port: number, user: string | undefined): OffloadError {
  const e = (err ?? {}) as NodemailerError;
  const reply = replyOf(e);
  const responseCode = reply.responseCode;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) {
    return new SmtpUnavailableError(host, port, `the server deferred it with a temporary reply (${responseCode}): ${message}`, reply, err);
  }
  if ((e.code !== undefined && AUTH_CODES.has(e.code)) || (responseCode !== undefined && AUTH_REPLIES.has(responseCode))) {
    return new SmtpAuthFailedError(host, port, user, reply, err);
  }
  if (responseCode !== undefined && responseCode >= 500) return new SmtpRejectedError(host, port, message, reply, err);
  if (e.code !== undefined && MESSAGE_CODES.has(e.code)) return new SmtpRejectedError(host, port, message, reply, err);
  return new SmtpUnavailableError(host, port, unavailableProblem(e, message), reply, err);
}

function replyOf(e: NodemailerError): { response?: string; responseCode?: number; command?: string } {
  const reply: { response?: string; responseCode?: number; command?: string } = {};
  if (typeof e.response === 'string') reply.response = e.response;
  if (typeof e.responseCode === 'number' && Number.isInteger(e.responseCode)) reply.responseCode = e.responseCode;
  if (typeof e.command === 'string') reply.command = e.command;
  return reply;
}

function unavailableProblem(e: NodemailerError, message: string): string {
  if (e.originalCode === 'ECONNREFUSED' || e.code === 'ECONNREFUSED') return `the connection was refused, nothing listens there (${message})`;
  if (e.code === 'ETIMEDOUT') return `no answer in time (${message})`;
  if (e.code === 'ETLS') return `TLS failed (${message})`;
  return e.code === undefined ? message : `${message} (${e.code})`;
}

// ---- validation -----------------------------------------------------------------------------

const LINE_BREAK = /[\r\n]/;
/** RFC 5322 field names: printable US-ASCII except the colon. */
const HEADER_NAME = /^[!-9;-~]+$/;

function validHost(host: unknown): string {
  if (typeof host !== 'string' || host.trim() === '')
    throw new InvalidOptionError('host', 'the SMTP server host is missing; give a name or an address, such as "smtp.example.com"');
  if (/\s/.test(host)) throw new InvalidOptionError('host', `${JSON.stringify(host)} holds white space; give a bare host name or address`);
  return host;
}

function validPort(port: unknown): number {
  if (!(typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new InvalidOptionError('port', `${JSON.stringify(port)} is not a port from 1 to 65535 (587 for submission with STARTTLS, 465 with secure: true)`);
  }
  return port;
}

function validTimeout(timeoutMs: unknown): number {
  if (timeoutMs === undefined) return DEFAULT_MAIL_TIMEOUT_MS;
  if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new InvalidOptionError('timeoutMs', `${JSON.stringify(timeoutMs)} is not a positive number of milliseconds`);
  }
  return timeoutMs;
}

function validAuth(auth: unknown): { user: string; pass: string } | undefined {
  if (auth === undefined) return undefined;
  const a = auth as { user?: unknown; pass?: unknown } | null;
  if (a === null || typeof a !== 'object' || typeof a.user !== 'string' || a.user === '' || typeof a.pass !== 'string') {
    throw new InvalidOptionError('auth', 'give both auth.user (not empty) and auth.pass as strings, or leave auth out for a server that needs no login');
  }
  return { user: a.user, pass: a.pass };
}

function validTls(tls: unknown): { rejectUnauthorized?: boolean; ca?: string } | undefined {
  if (tls === undefined) return undefined;
  const t = tls as { rejectUnauthorized?: unknown; ca?: unknown } | null;
  if (t === null || typeof t !== 'object') throw new InvalidOptionError('tls', 'give an object such as { ca: "<PEM>" }');
  if (t.rejectUnauthorized !== undefined && typeof t.rejectUnauthorized !== 'boolean')
    throw new InvalidOptionError('tls.rejectUnauthorized', 'give true or false');
  if (t.ca !== undefined && (typeof t.ca !== 'string' || t.ca.trim() === ''))
    throw new InvalidOptionError('tls.ca', 'give the PEM text of the certificate(s) to trust');
  return {
    ...(t.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: t.rejectUnauthorized }),
    ...(t.ca === undefined ? {} : { ca: t.ca as string }),
  };
}

function validAddress(field: string, address: unknown): string {
  if (typeof address !== 'string' || address.trim() === '') throw new InvalidOptionError(field, 'the address is missing; give one such as "ops@example.com"');
  if (LINE_BREAK.test(address))
    throw new InvalidOptionError(field, `${JSON.stringify(address)} holds a line break (CR or LF), which would start a header line of its own`);
  if (!address.includes('@')) throw new InvalidOptionError(field, `${JSON.stringify(address)} has no @; give an address such as "ops@example.com"`);
  return address;
}

function validMessage(message: MailMessage): { to: string[]; subject: string; text: string; html?: string; headers?: Record<string, string> } {
  if (message === null || typeof message !== 'object') throw new InvalidOptionError('message', 'give an object with to, subject and text');
  const list = Array.isArray(message.to) ? message.to : [message.to];
  if (list.length === 0) throw new InvalidOptionError('to', 'no recipient; give at least one address');
  const to = list.map((address) => validAddress('to', address));
  if (typeof message.subject !== 'string') throw new InvalidOptionError('subject', 'give the subject as a string');
  if (LINE_BREAK.test(message.subject))
    throw new InvalidOptionError('subject', 'it holds a line break (CR or LF), which would start a header line of its own; keep the subject on one line');
  if (typeof message.text !== 'string') throw new InvalidOptionError('text', 'give the plain-text body as a string');
  if (message.html !== undefined && typeof message.html !== 'string') throw new InvalidOptionError('html', 'give the HTML body as a string, or leave it out');
  const out: { to: string[]; subject: string; text: string; html?: string; headers?: Record<string, string> } = {
    to,
    subject: message.subject,
    text: message.text,
  };
  if (message.html !== undefined) out.html = message.html;
  if (message.headers !== undefined) {
    if (message.headers === null || typeof message.headers !== 'object')
      throw new InvalidOptionError('headers', 'give an object of header names to string values');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers)) {
      if (!HEADER_NAME.test(name))
        throw new InvalidOptionError('headers', `${JSON.stringify(name)} is not a header name (printable ASCII, no colon, space or line break)`);
      if (typeof value !== 'string') throw new InvalidOptionError(`headers.${name}`, 'give the value as a string');
      if (LINE_BREAK.test(value))
        throw new InvalidOptionError(
          `headers.${name}`,
          'the value holds a line break (CR or LF), which would start a header line of its own; keep it on one line',
        );
      headers[name] = value;
    }
    out.headers = headers;
  }
  return out;
}
