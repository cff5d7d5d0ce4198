// Rules from code: when a billing job fails for good, POST a signed webhook and send an e-mail;
// when a task's backlog goes over 100, enqueue a follow-up job. The receiver here is the kind a
// service would run: it refuses any request whose Offload-Signature does not check out.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineTask, Offload, permanent, type RuleNotice, verifyRequestSignature } from 'offload';

const SECRET = process.env.HOOK_SECRET ?? 'whsec_change-me-0123456789';

// The webhook's receiver: verify the raw body first, then trust the notice.
const notices: RuleNotice[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    try {
      verifyRequestSignature({ secrets: SECRET, header: req.headers['offload-signature'] as string, body });
    } catch {
      res.writeHead(401).end();
      return;
    }
    notices.push(JSON.parse(body.toString('utf8')) as RuleNotice);
    res.writeHead(204).end(); // any 2xx: delivered (5xx, 408, 429: retried later; another 4xx: given up)
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/offload`;

const charge = defineTask('billing.charge', async (input: { card: string }) => {
  if (input.card === 'declined') throw permanent(new Error('card declined'));
  return { charged: true };
});
const page = defineTask('ops.page', async (notice: RuleNotice) => console.log('paged:', notice.summary));

const offload = await Offload.open({
  store: process.env.OFFLOAD_STORE ?? 'sqlite:./offload.db',
  tasks: [charge, page],
  // The SMTP server e-mail rules go through (host, port, login, TLS): see MailerConfig.
  mail: { host: process.env.SMTP_HOST ?? '127.0.0.1', port: Number(process.env.SMTP_PORT ?? 587), from: 'Offload <offload@example.com>' },
});

await offload.rules.save('billing-dead-hook', {
  on: { event: 'job.dead' },
  tasks: ['billing.*'],
  // allowAddresses: this receiver is on 127.0.0.1, which webhooks may not reach unless a rule says so.
  action: { type: 'webhook', url: hookUrl, secret: SECRET, allowAddresses: ['127.0.0.1'] },
});
await offload.rules.save('billing-dead-mail', {
  on: { event: 'job.dead' },
  tasks: ['billing.*'],
  action: { type: 'email', to: ['billing-ops@example.com'], subject: 'Billing' },
});
await offload.rules.save('backlog', {
  on: { event: 'task.backlog', over: 100 }, // fires once when it goes over, once more when it clears
  action: { type: 'enqueue', task: 'ops.page' },
});

await offload.work(); // runs the tasks, the rules, and their deliveries (each one a job, retried)
const job = await offload.enqueue(charge, { card: 'declined' });
while (notices.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
console.log('webhook:', notices[0].summary);
console.log('the job:', notices[0].job?.id === job.id, notices[0].job?.error?.message);

for (const r of await offload.rules.list()) console.log('rule', r.name, r.on.event, r.action.type, r.paused ? 'paused' : 'active');
await offload.rules.pause('backlog');
await offload.close();
receiver.close();
