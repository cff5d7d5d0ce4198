import { StoreUnavailableError } from '../../core/errors.js';
import type { ParsedStoreUrl } from '../open.js';
import type { Store } from '../store.js';

export async function openPostgresStore(_parsed: ParsedStoreUrl): Promise<Store> {
  throw new StoreUnavailableError('the PostgreSQL store is not built yet; use a sqlite: URL');
}
