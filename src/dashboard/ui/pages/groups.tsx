/** Endpoint groups: balancer, each endpoint's health and outstanding pushes. */
import type { JSX } from 'preact';
import { Empty, Loading, Table, useGet } from '../components.js';
import { ago } from '../format.js';
import { useLive } from '../live.js';

interface Group {
  name: string;
  balancer: string;
  tasks: string[];
  concurrency: number;
  timeoutMs: number;
  endpoints: { id: string; url: string; weight: number; concurrency: number | null; outstanding: number }[];
  health: { id: string; healthy: boolean; failures: number; probeAt: string | null; idle: number | null }[] | null;
}

export function Groups(): JSX.Element {
  const list = useGet<{ groups: Group[] }>('/v1/endpoint-groups');
  useLive(list.reload, (e) => e.type.startsWith('job:'), 2000);
  const groups = list.data?.groups ?? [];
  return (
    <section>
      <h1>Endpoint groups</h1>
      <Loading loaded={list} />
      {list.data && groups.length === 0 ? <Empty>No endpoint groups.</Empty> : null}
      {groups.map((g) => {
        const health = new Map((g.health ?? []).map((h) => [h.id, h]));
        return (
          <article key={g.name} class="card">
            <h2>{g.name}</h2>
            <p>
              Balancer <strong>{g.balancer}</strong>, tasks {g.tasks.join(', ')}, at most {g.concurrency} at once.
            </p>
            <Table label={`endpoints of ${g.name}`} head={['endpoint', 'url', 'weight', 'outstanding', 'health', 'last probe']}>
              {g.endpoints.map((e) => {
                const h = health.get(e.id);
                return (
                  <tr key={e.id}>
                    <td>{e.id}</td>
                    <td class="clip">{e.url}</td>
                    <td class="num">{e.weight}</td>
                    <td class="num">
                      {e.outstanding}
                      {e.concurrency ? `/${e.concurrency}` : ''}
                    </td>
                    <td>
                      {h ? (
                        <span class={`badge ${h.healthy ? 'state-succeeded' : 'state-failed'}`}>
                          {h.healthy ? 'healthy' : `unhealthy (${h.failures} failures)`}
                        </span>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>{ago(h?.probeAt)}</td>
                  </tr>
                );
              })}
            </Table>
          </article>
        );
      })}
    </section>
  );
}
