/** The pieces every page uses: loading data, errors, state badges, bars, action buttons. */
import { type ComponentChildren, createContext, type JSX } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, type Session } from './api.js';
import { json } from './format.js';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  return useContext(SessionContext)!;
}

/** Whether this session may act (retry, cancel, pause…): an admin token, or the local user. */
export function useCanAct(): boolean {
  return useSession().scope === 'admin';
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | Error | null;
  loading: boolean;
  reload: () => void;
}

/** GETs `path` (null: nothing yet), again whenever it changes or `reload` is called. */
export function useGet<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | Error | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    if (path === null) return;
    const n = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    get<T>(path).then(
      (data) => n === latest.current && setState({ data, error: null, loading: false }),
      (error) => n === latest.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** A route this server lacks, or any other failure, said plainly. */
export function Problem({ error }: { error: ApiError | Error | null }): JSX.Element | null {
  if (!error) return null;
  if (error instanceof ApiError && error.unavailable) {
    return (
      <p class="notice" role="status">
        Not available on this server: it has no route for this yet (upgrade the server to see this page).
      </p>
    );
  }
  return (
    <p class="error" role="alert">
      {error instanceof ApiError ? `${error.code}: ` : ''}
      {error.message}
    </p>
  );
}

export function Loading({ loaded }: { loaded: Loaded<unknown> }): JSX.Element | null {
  if (loaded.error) return <Problem error={loaded.error} />;
  if (loaded.data === null) return <p class="muted">Loading…</p>;
  return null;
}

export function StateBadge({ state }: { state: string }): JSX.Element {
  return <span class={`badge state-${state}`}>{state}</span>;
}

/** A bar of a batch or a job's progress: succeeded, failed, cancelled, the rest pending. */
export function ProgressBar(props: { total: number; succeeded: number; failed?: number; cancelled?: number; label: string }): JSX.Element {
  const { total, succeeded } = props;
  const failed = props.failed ?? 0;
  const cancelled = props.cancelled ?? 0;
  const pct = (n: number) => (total > 0 ? (100 * n) / total : 0);
  const done = succeeded + failed + cancelled;
  return (
    <div class="bar" role="progressbar" aria-label={props.label} aria-valuemin={0} aria-valuemax={total} aria-valuenow={done} data-done={done}>
      <span class="seg ok" style={{ width: `${pct(succeeded)}%` }} />
      <span class="seg bad" style={{ width: `${pct(failed)}%` }} />
      <span class="seg off" style={{ width: `${pct(cancelled)}%` }} />
    </div>
  );
}

export function Json({ value, label }: { value: unknown; label: string }): JSX.Element {
  return (
    <section class="json" aria-label={label}>
      <pre>{json(value)}</pre>
    </section>
  );
}

/**
 * A button that calls the API, shows it is working and what went wrong; disabled, with the
 * reason, when the session may not act.
 */
export function ActionButton(props: {
  onClick: () => Promise<unknown>;
  children: ComponentChildren;
  done?: () => void;
  danger?: boolean;
  disabled?: boolean;
  label?: string;
}): JSX.Element {
  const canAct = useCanAct();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const click = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onClick();
      props.done?.();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button
        type="button"
        class={props.danger ? 'danger' : undefined}
        disabled={!canAct || busy || props.disabled}
        title={canAct ? undefined : "your token's scope does not allow actions (an admin token does)"}
        aria-label={props.label}
        onClick={click}
      >
        {props.children}
      </button>
      {error ? (
        <span class="error" role="alert">
          {error instanceof ApiError ? `${error.code}: ` : ''}
          {error.message}
        </span>
      ) : null}
    </span>
  );
}

/** A table that scrolls sideways on a narrow screen; `numeric` names the columns whose figures align right. */
export function Table({
  head,
  children,
  label,
  numeric = [],
}: {
  head: ComponentChildren[];
  children: ComponentChildren;
  label: string;
  numeric?: number[];
}): JSX.Element {
  return (
    <div class="scroll">
      <table aria-label={label}>
        <thead>
          <tr>
            {head.map((h, i) => (
              <th key={i} scope="col" class={numeric.includes(i) ? 'num' : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }): JSX.Element {
  return <p class="muted">{children}</p>;
}
