// A webhook receiver that refuses any request Offload did not sign, or that is replayed.
// OFFLOAD_SIGNING_SECRET is the endpoint's secret; PORT where to listen (0: any free port).
import { createServer } from 'node:http';
import { isOffloadError, SIGNATURE_HEADER, verifyRequestSignature } from 'offload';

const secret = process.env.OFFLOAD_SIGNING_SECRET;
if (!secret) throw new Error("Set OFFLOAD_SIGNING_SECRET to the endpoint's signing secret.");

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks); // the raw bytes: verify them before parsing the JSON
  try {
    verifyRequestSignature({ secrets: secret, header: req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined, body });
  } catch (err) {
    if (!isOffloadError(err)) throw err;
    res.writeHead(401).end(err.code); // SIGNATURE_MISSING, SIGNATURE_INVALID or SIGNATURE_EXPIRED
    return;
  }
  const event = JSON.parse(body.toString('utf8'));
  console.log('received', event.type);
  res.writeHead(204).end();
});
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`listening on http://127.0.0.1:${port}`);
});
