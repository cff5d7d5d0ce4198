import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readConfigFile } from '../../src/cli/config-file.js';
import { tempDir } from '../helpers/stores.js';

describe('offload start --config FILE', () => {
  const dir = tempDir();
  after(() => dir.dispose());
  const file = (name: string, text: string) => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads endpoint groups and the SMTP server, with its TLS settings', () => {
    const smtp = { host: 'smtp.example.com', port: 587, from: 'ops@example.com', requireTls: true, tls: { ca: '-----BEGIN CERTIFICATE-----' } };
    const config = readConfigFile(file('ok.json', JSON.stringify({ endpointGroups: [{ name: 'g' }], smtp })));
    assert.deepEqual(config, { endpointGroups: [{ name: 'g' }], smtp });
    assert.deepEqual(readConfigFile(file('empty.json', '{}')), { endpointGroups: [] });
  });

  it('refuses what it does not know, and what is not JSON, naming the file and the problem', () => {
    assert.throws(() => readConfigFile(file('typo.json', '{"endpointGroup": []}')), /unknown key "endpointGroup" \(known: endpointGroups, smtp\)/);
    assert.throws(
      () => readConfigFile(file('bad.json', '{')),
      (err: any) => err.code === 'INVALID_OPTION' && err.message.includes('bad.json'),
    );
    assert.throws(() => readConfigFile(file('smtp.json', '{"smtp": "smtp://x"}')), /smtp in .* must be an object/);
    assert.throws(
      () => readConfigFile(join(dir.path, 'missing.json')),
      (err: any) => err.code === 'INVALID_OPTION',
    );
  });
});
