/**
 * The built-in tasks that carry out a rule's webhook and e-mail: each delivery is a job, retried
 * with backoff like any other (a receiver or SMTP server that is down gets the notice once it is
 * back), and failed at once when retrying cannot help (a 4xx, a login refused, no SMTP settings).
 *
 * A delivery's input names its rule and carries the notice; the webhook's URL and secret and the
 * e-mail's recipients are read from the rule when the job runs, so no secret is ever in a job.
 */
import type { Clock } from '../core/clock.js';
import { isOffloadError, MailNotConfiguredError, RuleNotFoundError, WebhookRefusedError } from '../core/errors.js';
import { permanent } from '../core/outcomes.js';
import type { RuleAction, RuleNotice, RuleRecord } from '../core/rule.js';
import { defineTask, type TaskDefinition } from '../core/task.js';
import type { Mailer } from '../notify/mailer.js';
import { guardedRequest, isRetryableStatus, outboundFailureMayPass } from '../outbound/guarded-request.js';
import { SIGNATURE_HEADER, signRequest } from '../signing/request-signature.js';

export const WEBHOOK_TASK = 'offload.rule.webhook';
export const EMAIL_TASK = 'offload.rule.email';
export const DELIVERY_TASKS = [WEBHOOK_TASK, EMAIL_TASK] as const;

/** The input of a delivery job. */
export interface DeliveryInput {
  rule: string;
  notice: RuleNotice;
}

export interface DeliveryDeps {
  getRule(name: string): Promise<RuleRecord | undefined>;
  /** The mailer of this process, or undefined when it has no SMTP settings. */
  mailer(): Mailer | undefined;
  clock: Clock;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** A receiver answers with a status and a short body; more is not read. */
const MAX_WEBHOOK_RESPONSE_BYTES = 64 * 1024;
/** Ten attempts with the default backoff reach past an hour: a receiver or SMTP server restarted or briefly down still gets the notice. */
const DELIVERY_SETTINGS = { maxAttempts: 10, timeoutMs: 60_000, description: "a rule's notice, delivered" };

export function deliveryTasks(deps: DeliveryDeps): TaskDefinition<DeliveryInput, { status?: number; messageId?: string }>[] {
  const actionOf = async <T extends RuleAction['type']>(input: DeliveryInput, type: T): Promise<Extract<RuleAction, { type: T }>> => {
    const rule = await deps.getRule(input.rule);
    // The rule was removed, or changed to another action, since the event: nothing to deliver to.
    if (!rule || rule.action.type !== type) throw permanent(new RuleNotFoundError(input.rule));
    return rule.action as Extract<RuleAction, { type: T }>;
  };

  const webhook = defineTask(
    WEBHOOK_TASK,
    async (input: DeliveryInput, ctx) => {
      const action = await actionOf(input, 'webhook');
      const body = JSON.stringify(input.notice);
      const headers = {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signRequest({ secrets: action.secret, body, now: deps.clock.now() }),
        'offload-rule': input.rule,
        // The receiver's idempotency key: a retried delivery carries the same one.
        'offload-delivery': ctx.job.id,
      };
      let response: Awaited<ReturnType<typeof guardedRequest>>;
      try {
        response = await guardedRequest(
          { method: 'POST', url: action.url, headers, body },
          { timeoutMs: action.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS, maxResponseBytes: MAX_WEBHOOK_RESPONSE_BYTES, allowAddresses: action.allowAddresses },
          ctx.signal,
        );
      } catch (err) {
        if (!outboundFailureMayPass(err)) throw permanent(err);
        throw err;
      }
      if (response.status >= 200 && response.status < 300) return { status: response.status };
      const retryable = isRetryableStatus(response.status);
      const refused = new WebhookRefusedError(input.rule, action.url, response.status, retryable);
      throw retryable ? refused : permanent(refused);
    },
    DELIVERY_SETTINGS,
  );

  const email = defineTask(
    EMAIL_TASK,
    async (input: DeliveryInput & { subject: string; text: string }) => {
      const action = await actionOf(input, 'email');
      const mailer = deps.mailer();
      if (!mailer) throw permanent(new MailNotConfiguredError(input.rule));
      try {
        const sent = await mailer.send({ to: action.to, subject: input.subject, text: input.text, headers: { 'X-Offload-Rule': input.rule } });
        return { messageId: sent.messageId };
      } catch (err) {
        // The mailer says whether the same message may go through later (a server down, a 4xx) or not (a login refused, a 5xx).
        if (isOffloadError(err) && err.details?.retryable === false) throw permanent(err);
        throw err;
      }
    },
    DELIVERY_SETTINGS,
  ) as TaskDefinition<any, any>;

  return [webhook, email];
}
