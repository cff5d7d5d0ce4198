/** Rules (pause, resume) and the alerts firing now. */
import type { JSX } from 'preact';
import { enc, post } from '../api.js';
import { ActionButton, Empty, Loading, Table, useGet } from '../components.js';
import { ago } from '../format.js';
import { useLive } from '../live.js';

interface Rule {
  name: string;
  on: { event: string };
  tasks: string[];
  action: { type: string; url?: string; to?: string | string[]; task?: string };
  description: string | null;
  paused: boolean;
}

interface Alert {
  rule: string;
  subject: string;
  value: number;
  since: string;
}

export function Rules(): JSX.Element {
  const rules = useGet<{ rules: Rule[] }>('/v1/rules');
  const alerts = useGet<{ alerts: Alert[] }>('/v1/alerts');
  useLive(alerts.reload, (e) => e.type === 'job:failed' || e.type === 'store:changed', 2000);
  return (
    <section>
      <h1>Rules and alerts</h1>
      <h2>Firing now</h2>
      <Loading loaded={alerts} />
      {alerts.data && alerts.data.alerts.length === 0 ? <Empty>No alert is firing.</Empty> : null}
      {alerts.data && alerts.data.alerts.length > 0 ? (
        <Table label="alerts" head={['rule', 'subject', 'value', 'since']}>
          {alerts.data.alerts.map((a) => (
            <tr key={`${a.rule}\n${a.subject}`} class="row-bad">
              <td>{a.rule}</td>
              <td>{a.subject}</td>
              <td class="num">{a.value}</td>
              <td>{ago(a.since)}</td>
            </tr>
          ))}
        </Table>
      ) : null}
      <h2>Rules</h2>
      <Loading loaded={rules} />
      {rules.data && rules.data.rules.length === 0 ? <Empty>No rules.</Empty> : null}
      {rules.data && rules.data.rules.length > 0 ? (
        <Table label="rules" head={['name', 'on', 'tasks', 'does', '']}>
          {rules.data.rules.map((r) => (
            <tr key={r.name}>
              <td>
                {r.name}
                {r.paused ? <span class="badge state-cancelled">paused</span> : null}
              </td>
              <td>{r.on.event}</td>
              <td>{r.tasks.join(', ') || 'every task'}</td>
              <td class="clip">
                {r.action.type === 'webhook'
                  ? `webhook ${r.action.url}`
                  : r.action.type === 'email'
                    ? `e-mail ${[r.action.to].flat().join(', ')}`
                    : `enqueue ${r.action.task}`}
              </td>
              <td>
                <ActionButton
                  onClick={() => post(`/v1/rules/${enc(r.name)}/${r.paused ? 'resume' : 'pause'}`)}
                  done={rules.reload}
                  label={`${r.paused ? 'resume' : 'pause'} rule ${r.name}`}
                >
                  {r.paused ? 'Resume' : 'Pause'}
                </ActionButton>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}
