import { silentLogger } from '../../src/core/logger.js';
import { buildApi } from '../../src/http/api.js';
import { renderHttpReference } from '../../src/http/reference-doc.js';
import { Offload } from '../../src/offload.js';

/** docs/reference/http.md as it should be, from an API built over an in-memory store. */
export async function httpReference(): Promise<string> {
  const offload = await Offload.open({ store: 'sqlite::memory:', logger: silentLogger });
  const api = await buildApi(offload);
  try {
    return renderHttpReference(api.openapi());
  } finally {
    await api.close();
    await offload.close();
  }
}
