import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';

export interface StoreFixture {
  /** A URL that opens this fixture's database (for second connections and child processes). */
  url: string;
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

/** Makes an empty database for one test. Every backend the conformance suite runs on has one. */
export type StoreFactory = () => Promise<StoreFixture>;

/** A fresh SQLite file in its own temporary directory, deleted on dispose. */
export const sqliteFactory: StoreFactory = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'offload-test-'));
  const url = `sqlite:${join(dir, 'offload.db')}`;
  return {
    url,
    open: () => openStore(url),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
};

export function tempDir(prefix = 'offload-test-'): { path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}
