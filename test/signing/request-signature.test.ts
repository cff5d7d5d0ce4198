/**
 * Signed requests: what signRequest() writes, and one table of requests that every verifier (the
 * TypeScript one, clients/python/offload_signature.py, clients/php/OffloadSignature.php) must
 * accept or refuse alike. Then the receivers of docs/reference/signatures.md
 * (examples/signatures/) run as real servers and answer requests signed here.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  InvalidOptionError,
  SIGNATURE_HEADER,
  SignatureExpiredError,
  SignatureInvalidError,
  SignatureMissingError,
  signRequest,
  verifyRequestSignature,
} from '../../src/index.js';
import { programAvailable } from '../helpers/agent-server.js';
import { eventually } from '../helpers/eventually.js';
import { type Child, killAll, ROOT, startNode, startProcess } from '../helpers/processes.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW_SECONDS = NOW / 1000;
const SECRET = 'whsec_current';
const BODY = '{"type":"job.succeeded","job":{"id":"42"}}';
/** Not UTF-8 (a lone 0xff, an unfinished sequence): signatures are over bytes, not text. */
const BINARY = new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0x7d]);

const signed = (body: string | Uint8Array, secrets: string | string[] = SECRET, now = NOW) => signRequest({ secrets, body, now });
const withTimestamp = (header: string, t: number) => header.replace(/^t=\d+/, `t=${t}`);
const flipped = (bytes: Uint8Array) => bytes.map((b, i) => (i === 1 ? b ^ 1 : b));

interface Case {
  name: string;
  secrets: string[];
  header: string | undefined;
  body: Uint8Array;
  /** The timestamp returned, or the code of the refusal. */
  expect: number | 'SIGNATURE_MISSING' | 'SIGNATURE_INVALID' | 'SIGNATURE_EXPIRED';
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const good = signed(BODY);
const hex = good.split('v1=')[1]!;

/** Every verifier gets these, at NOW with the default tolerance of 300 s. */
const CASES: Case[] = [
  { name: 'a signed request', secrets: [SECRET], header: good, body: utf8(BODY), expect: NOW_SECONDS },
  { name: 'a changed body', secrets: [SECRET], header: good, body: utf8(BODY.replace('42', '43')), expect: 'SIGNATURE_INVALID' },
  { name: 'a changed timestamp', secrets: [SECRET], header: withTimestamp(good, NOW_SECONDS - 1), body: utf8(BODY), expect: 'SIGNATURE_INVALID' },
  { name: 'a wrong secret', secrets: ['whsec_other'], header: good, body: utf8(BODY), expect: 'SIGNATURE_INVALID' },
  { name: 'a timestamp 301 s old', secrets: [SECRET], header: signed(BODY, SECRET, NOW - 301_000), body: utf8(BODY), expect: 'SIGNATURE_EXPIRED' },
  { name: 'a timestamp 301 s ahead', secrets: [SECRET], header: signed(BODY, SECRET, NOW + 301_000), body: utf8(BODY), expect: 'SIGNATURE_EXPIRED' },
  { name: 'a timestamp exactly 300 s old', secrets: [SECRET], header: signed(BODY, SECRET, NOW - 300_000), body: utf8(BODY), expect: NOW_SECONDS - 300 },
  { name: 'no header', secrets: [SECRET], header: undefined, body: utf8(BODY), expect: 'SIGNATURE_MISSING' },
  { name: 'an empty header', secrets: [SECRET], header: '  ', body: utf8(BODY), expect: 'SIGNATURE_MISSING' },
  { name: 'a header that is not key=value', secrets: [SECRET], header: 'garbage', body: utf8(BODY), expect: 'SIGNATURE_INVALID' },
  { name: 'a header without t', secrets: [SECRET], header: `v1=${hex}`, body: utf8(BODY), expect: 'SIGNATURE_INVALID' },
  { name: 'a non-numeric t', secrets: [SECRET], header: `t=12a,v1=${hex}`, body: utf8(BODY), expect: 'SIGNATURE_INVALID' },
  { name: 'a negative t', secrets: [SECRET], header: `t=-1,v1=${hex}`, body: utf8(BODY), expect: 'SIGNATURE_INVALID' },
  { name: 't given twice', secrets: [SECRET], header: `t=${NOW_SECONDS},${good}`, body: utf8(BODY), expect: 'SIGNATURE_INVALID' },
  { name: 'a header without v1', secrets: [SECRET], header: `t=${NOW_SECONDS}`, body: utf8(BODY), expect: 'SIGNATURE_INVALID' },
  {
    name: 'only a v1 that is not 64 hex digits',
    secrets: [SECRET],
    header: `t=${NOW_SECONDS},v1=${hex.slice(1)}`,
    body: utf8(BODY),
    expect: 'SIGNATURE_INVALID',
  },
  {
    name: 'unknown schemes and a garbled v1 beside a good one, with spaces and upper-case hex',
    secrets: [SECRET],
    header: ` t=${NOW_SECONDS} , v0=abc, v1=zz, v1=${hex.toUpperCase()} `,
    body: utf8(BODY),
    expect: NOW_SECONDS,
  },
  {
    name: 'rotation: signed with [old, new], verified with [new]',
    secrets: ['whsec_new'],
    header: signed(BODY, ['whsec_old', 'whsec_new']),
    body: utf8(BODY),
    expect: NOW_SECONDS,
  },
  {
    name: 'rotation: signed with [new], verified with [old, new]',
    secrets: ['whsec_old', 'whsec_new'],
    header: signed(BODY, 'whsec_new'),
    body: utf8(BODY),
    expect: NOW_SECONDS,
  },
  {
    name: 'rotation: signed with [old, new], verified with a third',
    secrets: ['whsec_third'],
    header: signed(BODY, ['whsec_old', 'whsec_new']),
    body: utf8(BODY),
    expect: 'SIGNATURE_INVALID',
  },
  { name: 'a body of bytes that are not UTF-8', secrets: [SECRET], header: signed(BINARY), body: BINARY, expect: NOW_SECONDS },
  { name: 'a body of bytes with one bit changed', secrets: [SECRET], header: signed(BINARY), body: flipped(BINARY), expect: 'SIGNATURE_INVALID' },
];

function verifyInProcess(c: Case): number | string {
  try {
    return verifyRequestSignature({ secrets: c.secrets, header: c.header, body: c.body, now: NOW }).timestamp;
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('signRequest', () => {
  it('writes t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>', () => {
    const expected = createHmac('sha256', SECRET).update(`${NOW_SECONDS}.${BODY}`).digest('hex');
    assert.equal(signed(BODY), `t=${NOW_SECONDS},v1=${expected}`);
    assert.equal(SIGNATURE_HEADER, 'Offload-Signature');
  });

  it('gives the worked example of docs/reference/signatures.md', () => {
    const header = signRequest({ secrets: 'whsec_example', body: '{"type":"job.succeeded"}', now: Date.UTC(2026, 0, 1) });
    assert.equal(header, 't=1767225600,v1=f05959e8b7ffb6aac1af78c20922dcea55faaa71955cb90e4fd6dfa6a06c77a1');
    assert.ok(readFileSync(join(ROOT, 'docs/reference/signatures.md'), 'utf8').includes(`Offload-Signature: ${header}\n`));
  });

  it('writes one v1 per secret, in order, and signs the bytes of a Uint8Array as they are', () => {
    const v1 = (secret: string) => createHmac('sha256', secret).update(`${NOW_SECONDS}.`).update(BINARY).digest('hex');
    assert.equal(signed(BINARY, ['a', 'b']), `t=${NOW_SECONDS},v1=${v1('a')},v1=${v1('b')}`);
  });

  it('rounds the clock down to whole seconds, and takes the real clock by default', () => {
    assert.equal(signed(BODY, SECRET, NOW + 999).split(',')[0], `t=${NOW_SECONDS}`);
    const t = Number(signRequest({ secrets: SECRET, body: BODY }).split(',')[0]!.slice(2));
    assert.ok(Math.abs(t - Date.now() / 1000) < 5);
  });

  it('refuses to sign without a secret: a configuration bug, not a request to refuse', () => {
    for (const secrets of [[], '', ['ok', '']]) {
      assert.throws(() => signRequest({ secrets, body: BODY }), InvalidOptionError);
      assert.throws(() => verifyRequestSignature({ secrets, header: good, body: BODY, now: NOW }), InvalidOptionError);
    }
  });
});

describe('verifyRequestSignature', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.expect}`, () => assert.equal(verifyInProcess(c), c.expect));
  }

  it('throws named errors, each a 401 whose message says what to do', () => {
    const refusal = (header: string | undefined, body = BODY) => {
      try {
        verifyRequestSignature({ secrets: SECRET, header, body, now: NOW });
      } catch (err) {
        return err as Error & { httpStatus: number };
      }
      assert.fail('the request was accepted');
    };
    const missing = refusal(undefined);
    assert.ok(missing instanceof SignatureMissingError);
    assert.match(missing.message, /no Offload-Signature header.*proxy/);
    const invalid = refusal(good, `${BODY} `);
    assert.ok(invalid instanceof SignatureInvalidError);
    assert.match(invalid.message, /current secret.*raw body/);
    const expired = refusal(signed(BODY, SECRET, NOW - 600_000));
    assert.ok(expired instanceof SignatureExpiredError);
    assert.match(expired.message, /600 s .*tolerance of 300 s.*replay.*clock/);
    for (const err of [missing, invalid, expired]) assert.equal(err.httpStatus, 401);
  });

  it('takes a string body as UTF-8, and another tolerance', () => {
    const text = '{"name":"Zoë ✓"}';
    assert.equal(verifyRequestSignature({ secrets: SECRET, header: signed(utf8(text)), body: text, now: NOW }).timestamp, NOW_SECONDS);
    const old = signed(BODY, SECRET, NOW - 60_000);
    assert.equal(verifyRequestSignature({ secrets: SECRET, header: old, body: BODY, now: NOW, toleranceSeconds: 60 }).timestamp, NOW_SECONDS - 60);
    assert.throws(() => verifyRequestSignature({ secrets: SECRET, header: old, body: BODY, now: NOW, toleranceSeconds: 59 }), SignatureExpiredError);
  });
});

// ---- the receivers' helpers in other languages, given the same table ------------------------------

const python = programAvailable('python3', ['--version']);
const php = programAvailable('php', ['--version']);
const PYTHON_PATH = join(ROOT, 'clients/python');
const PHP_HELPER = join(ROOT, 'clients/php/OffloadSignature.php');

// Each program prints the timestamp or the refusal's code; the body comes on stdin as raw bytes.
const PYTHON_VERIFY = `
import json, os, sys
from offload_signature import SignatureError, verify_signature
try:
    print(verify_signature(json.loads(os.environ['SECRETS']), os.environ.get('HEADER'), sys.stdin.buffer.read(), now=int(os.environ['NOW'])))
except SignatureError as e:
    print(e.code)
`;
const PHP_VERIFY = `
require getenv('HELPER');
$header = getenv('HEADER');
try {
    echo Offload\\Signature::verify(json_decode(getenv('SECRETS'), true), $header === false ? null : $header, file_get_contents('php://stdin'), 300, (int) getenv('NOW')), "\\n";
} catch (Offload\\SignatureException $e) {
    echo $e->errorCode, "\\n";
}
`;

async function runToEnd(child: Child, stdin: Uint8Array): Promise<string> {
  child.process.stdin!.end(stdin);
  const { code } = await child.closed;
  assert.equal(code, 0, child.stderr());
  return child.lines.join('\n');
}

function verifyWith(program: 'python3' | 'php', c: Case): Promise<string> {
  const env: Record<string, string> = { SECRETS: JSON.stringify(c.secrets), NOW: String(NOW_SECONDS), ...(c.header === undefined ? {} : { HEADER: c.header }) };
  const child =
    program === 'python3'
      ? startProcess('python3', ['-c', PYTHON_VERIFY], { ...env, PYTHONPATH: PYTHON_PATH, PYTHONDONTWRITEBYTECODE: '1' })
      : startProcess('php', ['-r', PHP_VERIFY], { ...env, HELPER: PHP_HELPER });
  return runToEnd(child, c.body);
}

for (const [program, available, helper] of [
  ['python3', python, 'clients/python/offload_signature.py'],
  ['php', php, 'clients/php/OffloadSignature.php'],
] as const) {
  describe(`${helper} (${program})`, { skip: available.skip }, () => {
    before(() => assert.ok(available.ok, `${program} must be installed to test ${helper}`));

    for (const c of CASES) {
      it(`${c.name}: ${c.expect}`, async () => assert.equal(await verifyWith(program, c), String(c.expect)));
    }
  });
}

// ---- the examples of docs/reference/signatures.md, as real receivers ------------------------------

/** Requests signed here, now, against a running receiver: one accepted, each kind of refusal. */
async function checkReceiver(url: string): Promise<void> {
  const post = async (body: Uint8Array | string, header?: string) => {
    const r = await fetch(url, { method: 'POST', body, headers: header === undefined ? {} : { [SIGNATURE_HEADER]: header } });
    return `${r.status} ${await r.text()}`;
  };
  const header = signRequest({ secrets: SECRET, body: BODY });
  assert.equal(await post(BODY, header), '204 ');
  assert.equal(await post(BODY.replace('42', '43'), header), '401 SIGNATURE_INVALID');
  assert.equal(await post(BODY, signRequest({ secrets: 'whsec_other', body: BODY })), '401 SIGNATURE_INVALID');
  assert.equal(await post(BODY), '401 SIGNATURE_MISSING');
  assert.equal(await post(BODY, signRequest({ secrets: SECRET, body: BODY, now: Date.now() - 600_000 })), '401 SIGNATURE_EXPIRED');
  // Multi-byte UTF-8: the receiver must verify the bytes as they came, not a count or re-encoding of characters.
  const bytes = utf8('{"type":"zoë.✓"}');
  assert.equal(await post(bytes, signRequest({ secrets: SECRET, body: bytes })), '204 ');
}

/** What checkReceiver's two accepted requests make a receiver log. */
const EVENTS = ['received job.succeeded', 'received zoë.✓'];

/** The events a receiver logged, once it logged as many as EVENTS: its output may trail its answers. */
async function loggedEvents(output: () => string): Promise<string[]> {
  const events = () => output().match(/received \S+/g) ?? [];
  await eventually(() => events().length >= EVENTS.length, 'the receiver logged both events');
  return events();
}

describe('the receivers of docs/reference/signatures.md', () => {
  after(killAll);
  const env = { OFFLOAD_SIGNING_SECRET: SECRET, PORT: '0' };

  it('examples/signatures/verify.ts (node:http) accepts what signRequest signs and refuses the rest', async () => {
    const receiver = startNode([join(ROOT, 'dist/examples/signatures/verify.js')], env);
    const url = (await receiver.waitForLine(/^listening on /)).replace('listening on ', '');
    await checkReceiver(url);
    assert.deepEqual(await loggedEvents(() => receiver.lines.join('\n')), EVENTS);
  });

  it('examples/signatures/verify.py (WSGI) does too', { skip: python.skip }, async () => {
    assert.ok(python.ok, 'python3 must be installed to run verify.py');
    const receiver = startProcess('python3', [join(ROOT, 'examples/signatures/verify.py')], { ...env, PYTHONPATH: PYTHON_PATH, PYTHONDONTWRITEBYTECODE: '1' });
    const url = (await receiver.waitForLine(/^listening on /)).replace('listening on ', '');
    await checkReceiver(url);
    assert.deepEqual(await loggedEvents(() => receiver.lines.join('\n')), EVENTS);
  });

  it('examples/signatures/verify.php (under `php -S`) does too', { skip: php.skip }, async () => {
    assert.ok(php.ok, 'php must be installed to run verify.php');
    const receiver = startProcess('php', ['-S', '127.0.0.1:0', join(ROOT, 'examples/signatures/verify.php')], env);
    // The built-in server says where it listens on stderr only.
    const started = /Development Server \((http:\/\/127\.0\.0\.1:\d+)\) started/;
    await eventually(() => started.test(receiver.stderr()), 'php -S says where it listens');
    await checkReceiver(started.exec(receiver.stderr())![1]!);
    assert.deepEqual(await loggedEvents(receiver.stderr), EVENTS);
  });
});
