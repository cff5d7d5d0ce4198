/** The frame: who is logged in, the navigation, a skip link, and the page the path names. */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, type Session, setCsrf, whenUnauthorized } from './api.js';
import { Problem, SessionContext } from './components.js';
import { closeLive } from './live.js';
import { Audit } from './pages/audit.js';
import { BatchDetail, Batches } from './pages/batches.js';
import { Errors } from './pages/errors.js';
import { Groups } from './pages/groups.js';
import { JobDetail } from './pages/job.js';
import { Jobs } from './pages/jobs.js';
import { Login } from './pages/login.js';
import { Overview } from './pages/overview.js';
import { Rules } from './pages/rules.js';
import { Schedules } from './pages/schedules.js';
import { Tokens } from './pages/tokens.js';
import { Workers } from './pages/workers.js';
import { navigate, useLocation } from './router.js';

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/jobs', 'Jobs'],
  ['/errors', 'Errors'],
  ['/batches', 'Batches'],
  ['/workers', 'Workers'],
  ['/schedules', 'Schedules'],
  ['/groups', 'Endpoint groups'],
  ['/rules', 'Rules'],
  ['/tokens', 'Tokens'],
  ['/audit', 'Audit log'],
];

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function page(path: string): JSX.Element {
  const [, section, id] = path.split('/').map(decodeSegment);
  switch (section) {
    case '':
      return <Overview />;
    case 'jobs':
      return id ? <JobDetail id={id} /> : <Jobs />;
    case 'errors':
      return <Errors />;
    case 'batches':
    case 'flows':
      return id ? <BatchDetail id={id} /> : <Batches />;
    case 'workers':
      return <Workers />;
    case 'schedules':
      return <Schedules />;
    case 'groups':
      return <Groups />;
    case 'rules':
      return <Rules />;
    case 'tokens':
      return <Tokens />;
    case 'audit':
      return <Audit />;
    default:
      return (
        <p>
          No such page. Go to the <a href="/">overview</a>.
        </p>
      );
  }
}

export function App(): JSX.Element {
  const [session, setSession] = useState<Session | null | 'login'>(null);
  const [error, setError] = useState<Error | null>(null);
  const loc = useLocation();
  const login = (s: Session) => {
    setCsrf(s.csrf);
    setSession(s);
    if (window.location.pathname === '/login') navigate('/', true);
  };
  useEffect(() => {
    whenUnauthorized(() => {
      closeLive();
      setSession('login');
    });
    get<Session>('/dashboard/session').then(login, (e) => {
      if (e instanceof ApiError && e.status === 401) setSession('login');
      else setError(e);
    });
  }, []);
  useEffect(() => {
    const title = NAV.find(([href]) => href !== '/' && loc.path.startsWith(href))?.[1] ?? 'Overview';
    document.title = `${title} · Offload`;
  }, [loc.path]);
  if (error) return <Problem error={error} />;
  if (session === null) return <p class="muted">Loading…</p>;
  // /login asks for a token even where the dashboard is open (to look as a read token does).
  if (session === 'login' || loc.path === '/login') return <Login onLogin={login} />;
  const logout = async () => {
    await del('/dashboard/session').catch(() => {});
    closeLive();
    setCsrf(null);
    setSession('login');
  };
  const current = (href: string) => (href === '/' ? loc.path === '/' : loc.path === href || loc.path.startsWith(`${href}/`));
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <a class="brand" href="/">
          Offload
        </a>
        <nav aria-label="sections">
          <ul>
            {NAV.filter(([href]) => href !== '/tokens' || session.scope === 'admin').map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={current(href) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <p class="who">
          {session.name ?? 'local user'} <span class="badge">{session.scope}</span>
          {session.scope !== 'admin' ? <span class="muted"> read-only</span> : null}
          {session.via === 'session' ? (
            <button type="button" onClick={logout}>
              Log out
            </button>
          ) : null}
        </p>
      </header>
      <main id="main" tabIndex={-1}>
        {page(loc.path)}
      </main>
    </SessionContext.Provider>
  );
}
