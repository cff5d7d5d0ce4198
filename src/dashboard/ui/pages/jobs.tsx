/**
 * Jobs: filter by task, state, batch, flow, time and text (input, result, error); pages by
 * cursor; retry, cancel or delete the selected jobs or everything the filter matches.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, enc, post, query } from '../api.js';
import { ActionButton, Empty, Loading, StateBadge, Table, useCanAct, useGet } from '../components.js';
import { ago, short } from '../format.js';
import { useLive } from '../live.js';
import { navigate, useLocation } from '../router.js';

export interface JobJson {
  id: string;
  task: string;
  state: string;
  input: unknown;
  result: unknown;
  error: { message: string; code?: string; name?: string; stack?: string; attempt: number; at: string } | null;
  attempt: number;
  maxAttempts: number;
  priority: number;
  progress: { done: number; total: number; message?: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  runAt: string;
  batchId: string | null;
  step: string | null;
  waitingFor: number | null;
  origin: string | null;
  workerId: string | null;
  leaseExpiresAt: string | null;
  uniqueKey: string | null;
  concurrencyKey: string | null;
  timeoutMs: number | null;
  errors: { message: string; code?: string; name?: string; stack?: string; attempt: number; at: string }[];
}

const STATES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];
const FILTERS = ['task', 'state', 'batch', 'flow', 'since', 'until', 'q'] as const;
type Filter = Partial<Record<(typeof FILTERS)[number], string>>;
type BulkAction = 'retry' | 'cancel' | 'delete';

function filterOf(params: URLSearchParams): Filter {
  const f: Filter = {};
  for (const k of FILTERS) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** A datetime-local value as ISO 8601 (the API's form), or the value as given. */
function iso(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

export function Jobs(): JSX.Element {
  const loc = useLocation();
  const filter = filterOf(loc.params);
  const cursor = loc.params.get('cursor') ?? undefined;
  const apiFilter = { ...filter, since: iso(filter.since), until: iso(filter.until) };
  const path = `/v1/jobs${query({ ...apiFilter, cursor, limit: 50 })}`;
  const page = useGet<{ jobs: JobJson[]; nextCursor: string | null }>(path);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [outcome, setOutcome] = useState<string | null>(null);
  useLive(page.reload, undefined, 1000);
  const canAct = useCanAct();
  const jobs = page.data?.jobs ?? [];

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const allOnPage = jobs.length > 0 && jobs.every((j) => selected.has(j.id));
  const setFilter = (f: Filter) => {
    setSelected(new Set());
    navigate(`/jobs${query(f)}`);
  };

  const bulk = async (action: BulkAction, target: { ids: string[] } | { filter: Filter }) => {
    const body =
      'ids' in target
        ? { action, ids: target.ids }
        : { action, filter: { ...target.filter, since: iso(target.filter.since), until: iso(target.filter.until) } };
    try {
      const r = await post<{ matched: number; changed: number; skipped: number; reasons?: Record<string, number> }>('/v1/jobs/bulk', body);
      const why = Object.entries(r.reasons ?? {})
        .map(([code, n]) => `${n} ${code}`)
        .join(', ');
      setOutcome(`${action}: ${r.matched} matched, ${r.changed} changed, ${r.skipped} skipped${why ? ` (${why})` : ''}`);
    } catch (e) {
      // An older server without the bulk route: one request per selected job (retry and cancel only).
      if (!(e instanceof ApiError && e.unavailable && 'ids' in target && action !== 'delete')) throw e;
      let changed = 0;
      for (const id of target.ids) {
        await post(`/v1/jobs/${enc(id)}/${action}`).then(
          () => changed++,
          () => {},
        );
      }
      setOutcome(`${action}: ${target.ids.length} selected, ${changed} changed`);
    }
    setSelected(new Set());
  };

  return (
    <section>
      <h1>Jobs</h1>
      {/* Uncontrolled, so live updates never reset what is being typed; a new filter draws a new form. */}
      <FilterForm key={query(filter)} filter={filter} onApply={setFilter} />
      <Loading loaded={page} />
      {outcome ? (
        <p class="notice" role="status">
          {outcome}
        </p>
      ) : null}
      <fieldset class="bulk" disabled={!canAct}>
        <legend>Bulk actions</legend>
        <span class="muted">{selected.size} selected</span>
        {(['retry', 'cancel', 'delete'] as const).map((a) => (
          <ActionButton key={a} disabled={selected.size === 0} danger={a === 'delete'} onClick={() => bulk(a, { ids: [...selected] })} done={page.reload}>
            {`${cap(a)} selected`}
          </ActionButton>
        ))}
        {(['retry', 'cancel', 'delete'] as const).map((a) => (
          <ConfirmAll key={a} action={a} onConfirm={() => bulk(a, { filter })} done={page.reload} />
        ))}
      </fieldset>
      {page.data && jobs.length === 0 ? <Empty>No job matches.</Empty> : null}
      {jobs.length > 0 ? (
        <Table
          label="jobs"
          numeric={[4]}
          head={[
            <input
              key="all"
              type="checkbox"
              aria-label="select every job on this page"
              checked={allOnPage}
              onChange={() => setSelected(allOnPage ? new Set() : new Set(jobs.map((j) => j.id)))}
            />,
            'id',
            'task',
            'state',
            'attempt',
            'input',
            'error',
            'created',
          ]}
        >
          {jobs.map((j) => (
            <tr key={j.id}>
              <td>
                <input type="checkbox" aria-label={`select job ${j.id}`} checked={selected.has(j.id)} onChange={() => toggle(j.id)} />
              </td>
              <td>
                <a href={`/jobs/${enc(j.id)}`}>{j.id}</a>
              </td>
              <td>{j.task}</td>
              <td>
                <StateBadge state={j.state} />
              </td>
              <td class="num">
                {j.attempt}/{j.maxAttempts}
              </td>
              <td class="clip">{short(j.input)}</td>
              <td class="clip">{j.error ? short(j.error.message) : ''}</td>
              <td>{ago(j.createdAt)}</td>
            </tr>
          ))}
        </Table>
      ) : null}
      <nav class="pager" aria-label="pages">
        {cursor ? <a href={`/jobs${query(filter)}`}>First page</a> : null}
        {page.data?.nextCursor ? <a href={`/jobs${query({ ...filter, cursor: page.data.nextCursor })}`}>Next page</a> : null}
      </nav>
    </section>
  );
}

function cap(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}

/** "Retry all matching" asks once more before it acts on everything the filter matches. */
function ConfirmAll({ action, onConfirm, done }: { action: BulkAction; onConfirm: () => Promise<unknown>; done: () => void }): JSX.Element {
  const [asking, setAsking] = useState(false);
  const canAct = useCanAct();
  if (!asking) {
    return (
      <button type="button" disabled={!canAct} onClick={() => setAsking(true)}>
        {`${cap(action)} all matching…`}
      </button>
    );
  }
  return (
    <span class="confirm">
      <ActionButton
        danger
        onClick={onConfirm}
        done={() => {
          setAsking(false);
          done();
        }}
      >
        {`Confirm: ${action} every job the filter matches`}
      </ActionButton>
      <button type="button" onClick={() => setAsking(false)}>
        Keep them
      </button>
    </span>
  );
}

function FilterForm({ filter, onApply }: { filter: Filter; onApply: (f: Filter) => void }): JSX.Element {
  const states = new Set((filter.state ?? '').split(',').filter(Boolean));
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const f: Filter = {};
    for (const k of ['task', 'batch', 'flow', 'since', 'until', 'q'] as const) {
      const v = String(form.get(k) ?? '').trim();
      if (v) f[k] = v;
    }
    const picked = form.getAll('state').map(String);
    if (picked.length > 0) f.state = picked.join(',');
    onApply(f);
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="filter jobs">
      <label>
        Search <input name="q" type="search" defaultValue={filter.q ?? ''} placeholder="a word in input, result or error" />
      </label>
      <label>
        Task <input name="task" defaultValue={filter.task ?? ''} />
      </label>
      <label>
        Batch <input name="batch" defaultValue={filter.batch ?? ''} inputMode="numeric" size={8} />
      </label>
      <label>
        Flow <input name="flow" defaultValue={filter.flow ?? ''} inputMode="numeric" size={8} />
      </label>
      <label>
        Since <input name="since" type="datetime-local" defaultValue={filter.since ?? ''} />
      </label>
      <label>
        Until <input name="until" type="datetime-local" defaultValue={filter.until ?? ''} />
      </label>
      <fieldset class="states">
        <legend>State</legend>
        {STATES.map((s) => (
          <label key={s}>
            <input type="checkbox" name="state" value={s} defaultChecked={states.has(s)} /> {s}
          </label>
        ))}
      </fieldset>
      <button type="submit">Apply</button>
      <a href="/jobs">Clear</a>
    </form>
  );
}
