/**
 * Live updates from the API's event stream (GET /v1/events), not polling: one EventSource for the
 * whole page, shared by every view; each view says which events make it read again.
 */
import { useEffect, useRef } from 'preact/hooks';

export const JOB_EVENTS = [
  'job:enqueued',
  'job:started',
  'job:progress',
  'job:succeeded',
  'job:retrying',
  'job:failed',
  'job:cancelled',
  'job:released',
  'batch:finished',
  'store:changed',
] as const;

export interface LiveEvent {
  type: string;
  data: any;
}

type Listener = (e: LiveEvent) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;

function ensureSource(): void {
  if (source) return;
  source = new EventSource('/v1/events');
  for (const type of JOB_EVENTS) {
    source.addEventListener(type, (m) => {
      const data = safeParse((m as MessageEvent).data);
      for (const l of listeners) l({ type, data });
    });
  }
}

export function closeLive(): void {
  source?.close();
  source = null;
}

function safeParse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Calls `refresh` after events that `matters` accepts, at most every `minGapMs` (a burst of a
 * thousand finishing jobs is one read, not a thousand).
 */
export function useLive(refresh: () => void, matters: (e: LiveEvent) => boolean = () => true, minGapMs = 500): void {
  const fn = useRef(refresh);
  const test = useRef(matters);
  fn.current = refresh;
  test.current = matters;
  useEffect(() => {
    ensureSource();
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = 0;
    const listener: Listener = (e) => {
      if (!test.current(e) || timer) return;
      const wait = Math.max(0, last + minGapMs - Date.now());
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        fn.current();
      }, wait);
    };
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (timer) clearTimeout(timer);
    };
  }, [minGapMs]);
}

/** A batch's own stream: `batch:progress` counts as its jobs finish, then `batch:finished`. */
export function useBatchStream(id: string, onProgress: (counts: any) => void, onFinished: () => void): void {
  const progress = useRef(onProgress);
  const finished = useRef(onFinished);
  progress.current = onProgress;
  finished.current = onFinished;
  useEffect(() => {
    const s = new EventSource(`/v1/events?batch=${encodeURIComponent(id)}`);
    s.addEventListener('batch:progress', (m) => progress.current(safeParse((m as MessageEvent).data)));
    s.addEventListener('batch:finished', () => {
      finished.current();
      s.close();
    });
    return () => s.close();
  }, [id]);
}
