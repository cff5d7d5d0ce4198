"""Offload from Python: agents that work on jobs, and a client that submits them.

One module, standard library only. Copy it next to your program (or put its directory on
PYTHONPATH)::

    from offload_agent import Agent

    def thumbnail(input, ctx):
        ctx.progress(1, 2, 'resizing')
        return {'thumbnail': input['image'] + '-64.png'}

    Agent('http://127.0.0.1:7070', token).run({'images.thumbnail': thumbnail}, concurrency=4)

An agent claims jobs of its tasks over the HTTP API (long-polling, so the server wakes it when
work arrives), runs each handler in a thread of its own, heartbeats from another thread (so a long
computation never loses its lease), and records each outcome: a return value completes the job, an
exception fails the attempt (retried by the task's policy), ``Permanent`` fails it for good,
``RetryLater`` gives it back, ``SuspendTask`` pauses the whole task. On SIGTERM or SIGINT it stops
claiming, lets running jobs finish for ``shutdown_timeout`` seconds and releases the rest. When the
server cannot be reached it logs and retries with backoff; it never stops on its own.

``Client(url, token)`` submits jobs and reads them back: ``submit(task, input, wait=30)``,
``get(id)``, ``run(task, input)``; jobs that wait for others (``submit(..., after=[job])``) and
flows of named steps (``flow({'fetch': {...}, 'parse': {..., 'after': ['fetch']}})``, ``get_flow``,
``cancel_flow``). A handler of a job that waited for others reads what they did in
``ctx.dependencies`` and ``ctx.result_of('fetch')``.

HTTP goes through ``http.client`` (what ``urllib`` is built on) rather than ``urllib.request``:
one kept-alive connection per thread, and a claim waiting on the server can be cut short at stop
by closing its socket.
"""

import http.client
import json
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse

__all__ = [
    'Agent', 'Client', 'Context', 'OffloadError', 'ServerUnreachable', 'JobFailed',
    'RetryLater', 'Permanent', 'SuspendTask',
]

__version__ = '0.1.0'

log = logging.getLogger('offload_agent')

DEFAULT_URL = 'http://127.0.0.1:7070'
_MAX_CLAIM = 100
_MAX_RETRY_DELAY = 5.0
_WORKER_ID_CHARS = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@/-')


# ---- errors ---------------------------------------------------------------------------------------

class OffloadError(Exception):
    """An error answer from the server: ``code`` (see docs/reference/errors.md), ``status``, ``details``."""

    def __init__(self, code, message, status=None, details=None):
        super().__init__('%s: %s' % (code, message))
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class ServerUnreachable(OffloadError):
    """The server could not be reached: refused or reset connection, timeout, or a 5xx answer."""

    def __init__(self, url, problem):
        super().__init__('SERVER_UNREACHABLE', 'the Offload server at %s could not be reached: %s' % (url, problem), 503, {'url': url, 'problem': problem})


class JobFailed(Exception):
    """``Client.run``: the job failed or was cancelled. ``job`` is the job as the server has it."""

    def __init__(self, job):
        error = job.get('error') or {}
        super().__init__('job %s (%s) %s: %s' % (job.get('id'), job.get('task'), job.get('state'), error.get('message', '')))
        self.job = job


def is_transient(err):
    """Whether an error means "the server is unreachable or busy for now: try again"."""
    return isinstance(err, ServerUnreachable) or (isinstance(err, OffloadError) and ((err.status or 0) >= 500 or err.code == 'RATE_LIMITED'))


# ---- what a handler can say besides returning a result ------------------------------------------

class RetryLater(Exception):
    """Raise to give the job back, to run again after ``delay`` seconds; the attempt is not counted."""

    def __init__(self, delay=0.0, reason=None):
        super().__init__(reason or 'retry in %s s' % delay)
        self.delay = max(0.0, float(delay))


class Permanent(Exception):
    """Raise to fail the job now, whatever attempts remain (bad input that no retry will fix)."""


class SuspendTask(Exception):
    """Raise to give the job back and pause the whole task for ``delay`` seconds (an upstream said "slow down")."""

    def __init__(self, delay, reason=None):
        super().__init__(reason or 'task suspended for %s s' % delay)
        self.delay = max(0.001, float(delay))


# ---- the HTTP client --------------------------------------------------------------------------------

_OPTION_NAMES = {
    'priority': 'priority', 'run_at': 'runAt', 'delay_ms': 'delayMs', 'unique_key': 'uniqueKey',
    'concurrency_key': 'concurrencyKey', 'max_attempts': 'maxAttempts', 'timeout_ms': 'timeoutMs',
}
# The API's own names are taken too (a flow's steps are often written as the API takes them).
_OPTION_FIELDS = frozenset(_OPTION_NAMES.values())


# While handlers run, a claim waits on the server at most this long (seconds): their outcomes,
# handed over meanwhile, go with the next request.
_BUSY_POLL = 0.2

# A keyed submit is safe to send again: the pauses before each new try (None: no more tries).
_SUBMIT_RETRY_DELAYS = (0.2, 0.5, 1.0, None)

_SETTING_NAMES = {
    'max_attempts': 'maxAttempts', 'backoff': 'backoff', 'timeout_ms': 'timeoutMs', 'priority': 'priority',
    'concurrency': 'concurrency', 'concurrency_per_key': 'concurrencyPerKey', 'retention': 'retention',
    'input_schema': 'input', 'description': 'description',
}


class Client(object):
    """The HTTP API: submit and read jobs, and the agent calls (claim, heartbeat, complete, fail, release).

    Thread-safe: each thread keeps one keep-alive connection of its own.
    """

    def __init__(self, url=DEFAULT_URL, token=None, timeout=30.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ValueError('url must be http://HOST:PORT or https://HOST:PORT, got %r' % (url,))
        self.url = url.rstrip('/')
        self.timeout = float(timeout)
        self._https = parts.scheme == 'https'
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip('/')
        self._headers = {'Content-Type': 'application/json', 'Accept': 'application/json', 'User-Agent': 'offload-agent-python/' + __version__}
        if token:
            self._headers['Authorization'] = 'Bearer ' + token
        self._local = threading.local()
        self._open = set()
        self._open_lock = threading.Lock()
        # Bumped by close(): a request cut short by close() is not sent again.
        self._generation = 0

    # -- producers --

    def submit(self, task, input=None, wait=None, idempotency_key=None, after=None, on_dependency_failure=None, **options):
        """Submits a job and returns it (a dict, the shape of the CLI's --json).

        ``wait=SECONDS`` holds the request until the job finishes or the wait ends; the job comes
        back as it stands (look at ``job['state']``). Options: priority, run_at, delay_ms,
        unique_key (returns the queued or running job holding the key), concurrency_key,
        max_attempts, timeout_ms.

        ``idempotency_key``: the job is stored once however often it is sent within 24 hours, so a
        submit whose answer was lost (the server unreachable or unavailable) is sent again, up to
        three times, and returns the job the first delivery stored.

        ``after``: jobs to wait for -- a job (or its id), a list of jobs, ids or ``{'job': id, 'name':
        ..., 'onFailure': ...}``, or a dict naming them (``{'fetch': job}``: the handler reads
        ``ctx.result_of('fetch')``). The job is stored ``waiting`` and queued once they have all
        succeeded. ``on_dependency_failure``: when one fails or is cancelled, ``'cancel'`` this job
        (default), ``'fail'`` it, or ``'run'`` it anyway.
        """
        body = {'task': task, 'input': input}
        body.update(_options_body('submit', options))
        if after is not None:
            body['after'] = _after_body(after)
        if on_dependency_failure is not None:
            body['onDependencyFailure'] = on_dependency_failure
        return self._submit('/v1/jobs' + _wait_query(wait), body, wait, idempotency_key)['job']

    def flow(self, steps, title=None, wait=None, on_finish=None, on_dependency_failure=None, idempotency_key=None):
        """Submits a flow: named steps that wait for each other, stored at once (all or nothing).

        ``steps`` maps step names to ``{'task', 'input', 'after': [step names, {'step', 'onFailure'}
        or {'job', 'name', 'onFailure'}], ...options}`` (options as ``submit`` takes them, e.g.
        ``max_attempts``). Returns ``{'flow', 'steps', 'jobs', 'failures'}``: the flow (a batch with
        ``kind`` 'flow'), every step's state, the steps' jobs. ``wait=SECONDS`` holds the request
        until the flow has finished or the wait ends (look at ``answer['flow']['state']``).
        ``on_finish``: ``{'task', 'input'}`` enqueued once every step has finished. A cycle or a
        step waiting for one that does not exist is OffloadError INVALID_FLOW; nothing is stored.
        """
        if not isinstance(steps, dict) or not steps:
            raise ValueError('steps must be a non-empty dict of step name -> {"task", "input", "after"}')
        body = {'steps': {}}
        for name, step in steps.items():
            if not isinstance(step, dict) or 'task' not in step:
                raise ValueError('step %r must be a dict with a "task"' % (name,))
            known = {'task', 'input', 'after'}
            out = {'task': step['task']}
            if 'input' in step:
                out['input'] = step['input']
            if step.get('after') is not None:
                out['after'] = [_edge_body(e) for e in step['after']]
            out.update(_options_body('flow', {k: v for k, v in step.items() if k not in known}))
            body['steps'][str(name)] = out
        if title is not None:
            body['title'] = title
        if on_finish is not None:
            body['onFinish'] = dict(on_finish)
        if on_dependency_failure is not None:
            body['onDependencyFailure'] = on_dependency_failure
        return self._submit('/v1/flows' + _wait_query(wait), body, wait, idempotency_key)

    def get_flow(self, flow_id, wait=None):
        """A flow and every step's state, in one read: ``{'flow', 'steps', 'failures'}``; ``wait=SECONDS`` holds until it has finished or the wait ends."""
        return self.request('GET', '/v1/flows/%s%s' % (_job_id(flow_id, 'flow'), _wait_query(wait)), hold=wait or 0)

    def cancel_flow(self, flow_id):
        """Cancels the steps of a flow that have not started (an admin token): ``{'cancelled': n, 'flow'}``."""
        return self.request('POST', '/v1/flows/%s/cancel' % _job_id(flow_id, 'flow'))

    def _submit(self, path, body, wait, idempotency_key):
        if idempotency_key is None:
            return self.request('POST', path, body, hold=wait or 0)
        headers = {'Idempotency-Key': str(idempotency_key)}
        for delay in _SUBMIT_RETRY_DELAYS:
            try:
                return self.request('POST', path, body, hold=wait or 0, headers=headers)
            except OffloadError as err:
                if delay is None or not is_transient(err):
                    raise
                time.sleep(delay)

    def get(self, job_id, wait=None):
        """The job with this id; ``wait=SECONDS`` holds until it finishes or the wait ends."""
        return self.request('GET', '/v1/jobs/%s%s' % (_job_id(job_id), _wait_query(wait)), hold=wait or 0)['job']

    def run(self, task, input=None, timeout=60.0, **options):
        """Submits a job and waits for its result; raises JobFailed if it fails or is cancelled."""
        deadline = time.monotonic() + timeout
        job = self.submit(task, input, wait=min(timeout, 60.0), **options)
        while job['state'] in ('queued', 'running') and time.monotonic() < deadline:
            job = self.get(job['id'], wait=min(max(deadline - time.monotonic(), 0.0), 60.0))
        if job['state'] == 'succeeded':
            return job['result']
        if job['state'] in ('failed', 'cancelled'):
            raise JobFailed(job)
        raise TimeoutError('job %s did not finish within %s s; it goes on' % (job['id'], timeout))

    def cancel(self, job_id):
        return self.request('POST', '/v1/jobs/%s/cancel' % _job_id(job_id))['job']

    def declare_task(self, task, **settings):
        """Declares a task's settings, as a worker that defines the task does (work or admin token).

        Settings: max_attempts, backoff ({'type': 'fixed', 'delayMs': 1000} or {'type': 'exponential',
        'baseMs', 'maxMs'}), timeout_ms, priority, concurrency, concurrency_per_key, retention (ms),
        input_schema (a JSON Schema), description. Absent ones take their defaults.
        """
        body = {}
        for name, value in settings.items():
            if name not in _SETTING_NAMES:
                raise TypeError('declare_task() got an unknown setting %r (known: %s)' % (name, ', '.join(sorted(_SETTING_NAMES))))
            body[_SETTING_NAMES[name]] = value
        return self.request('PUT', '/v1/tasks/%s' % urllib.parse.quote(task, safe=''), body)['settings']

    # -- agents --

    def claim(self, tasks, worker_id=None, max=1, wait_ms=0, lease_ms=None):
        body = {'tasks': list(tasks), 'max': max, 'waitMs': int(wait_ms)}
        if worker_id:
            body['workerId'] = worker_id
        if lease_ms:
            body['leaseMs'] = int(lease_ms)
        return self.request('POST', '/v1/claim', body, hold=wait_ms / 1000.0)['jobs']

    def heartbeat(self, job_id, lease_token, progress=None, lease_ms=None):
        body = {'leaseToken': lease_token}
        if progress is not None:
            body['progress'] = progress
        if lease_ms:
            body['leaseMs'] = int(lease_ms)
        return self.request('POST', '/v1/jobs/%s/heartbeat' % _job_id(job_id), body)

    def complete(self, job_id, lease_token, result=None):
        return self.request('POST', '/v1/jobs/%s/complete' % _job_id(job_id), {'leaseToken': lease_token, 'result': result})

    def fail(self, job_id, lease_token, error, retryable=None, retry_in_ms=None):
        body = {'leaseToken': lease_token, 'error': error}
        if retryable is not None:
            body['retryable'] = bool(retryable)
        if retry_in_ms is not None:
            body['retryInMs'] = int(retry_in_ms)
        return self.request('POST', '/v1/jobs/%s/fail' % _job_id(job_id), body)

    def release(self, job_id, lease_token, delay_ms=None):
        body = {'leaseToken': lease_token}
        if delay_ms:
            body['delayMs'] = int(delay_ms)
        return self.request('POST', '/v1/jobs/%s/release' % _job_id(job_id), body)

    def finish(self, outcomes, claim=None):
        """Records many outcomes at once (``POST /v1/jobs/finish``), in one transaction, and claims the next jobs with them.

        ``outcomes``: up to 100 dicts ``{'id', 'outcome': 'complete'|'fail'|'release', 'leaseToken', ...}`` with the
        fields of the single-job calls (``result``; ``error``, ``retryable``, ``retryInMs``; ``delayMs``). ``claim``:
        ``{'tasks', 'workerId', 'max', 'leaseMs', 'waitMs'}`` or None. Returns ``{'results': [...], 'jobs': [...]}``:
        one result per outcome, in order (``{'id', 'state', 'runAt'}``, or ``{'id', 'error': {'code', ...}}`` when
        that one was not recorded), and the jobs claimed.
        """
        body = {'outcomes': list(outcomes)}
        hold = 0
        if claim is not None:
            body['claim'] = dict(claim)
            hold = body['claim'].get('waitMs', 0) / 1000.0
        return self.request('POST', '/v1/jobs/finish', body, hold=hold)

    def suspend_task(self, task, delay_ms):
        return self.request('POST', '/v1/tasks/%s/suspend' % urllib.parse.quote(task, safe=''), {'delayMs': max(1, int(delay_ms))})

    # -- plumbing --

    def request(self, method, path, body=None, hold=0, headers=None):
        """One request; the parsed JSON answer, or OffloadError (ServerUnreachable when it could not be had)."""
        payload = None if body is None else json.dumps(body, allow_nan=False, separators=(',', ':')).encode('utf-8')
        generation = self._generation
        sent_headers = self._headers if not headers else dict(self._headers, **headers)
        for attempt in (1, 2):
            conn, reused = self._connection()
            try:
                conn.sock.settimeout(self.timeout + float(hold))
                conn.request(method, self._prefix + path, body=payload, headers=sent_headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException) as err:
                self._forget(conn)
                # A kept-alive connection the server had closed fails before the request is read: send it again once.
                stale = isinstance(err, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
                if reused and attempt == 1 and stale and generation == self._generation:
                    continue
                raise ServerUnreachable(self.url, '%s %s: %s' % (method, path.split('?')[0], _describe(err)))
        if response.getheader('Connection', '').lower() == 'close':
            self._forget(conn)
        if response.status >= 400:
            raise _error_from(self.url, response.status, data)
        return json.loads(data.decode('utf-8')) if data else None

    def close(self):
        """Closes every connection of this client, interrupting requests in flight in other threads."""
        with self._open_lock:
            conns, self._open = self._open, set()
            self._generation += 1
        for conn in conns:
            try:
                if conn.sock is not None:
                    conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 -- nothing to be done at collection time
            pass

    def _connection(self):
        conn = getattr(self._local, 'conn', None)
        if conn is not None and conn.sock is not None:
            return conn, True
        factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = factory(self._host, self._port, timeout=self.timeout)
        try:
            conn.connect()
        except OSError as err:
            raise ServerUnreachable(self.url, _describe(err))
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._local.conn = conn
        with self._open_lock:
            self._open.add(conn)
        return conn, False

    def _forget(self, conn):
        with self._open_lock:
            self._open.discard(conn)
        if getattr(self._local, 'conn', None) is conn:
            self._local.conn = None
        conn.close()


def _options_body(call, options):
    body = {}
    for name, value in options.items():
        field = _OPTION_NAMES.get(name) or (name if name in _OPTION_FIELDS else None)
        if field is None:
            raise TypeError('%s() got an unknown option %r (known: %s)' % (call, name, ', '.join(sorted(_OPTION_NAMES))))
        if value is not None:
            body[field] = value
    return body


def _job_ref(ref):
    """A job given as a job (a dict with its id) or as an id."""
    if isinstance(ref, dict) and 'id' in ref:
        ref = ref['id']
    return _job_id(ref)


def _after_body(after):
    """``after`` as the API takes it: a list of ids or ``{'job', 'name', 'onFailure'}``, or a dict of names to ids."""
    if isinstance(after, dict) and 'id' not in after and 'job' not in after:
        return {str(name): _job_ref(ref) for name, ref in after.items()}
    if not isinstance(after, (list, tuple)):
        after = [after]
    out = []
    for ref in after:
        if isinstance(ref, dict) and 'job' in ref:
            edge = dict(ref)
            edge['job'] = _job_ref(ref['job'])
            out.append(edge)
        else:
            out.append(_job_ref(ref))
    return out


def _edge_body(edge):
    """One entry of a step's ``after``: a step name, ``{'step', 'onFailure'}``, or a job stored before ``{'job', 'name', 'onFailure'}``."""
    if isinstance(edge, dict) and 'job' in edge:
        return dict(edge, job=_job_ref(edge['job']))
    return edge


def _wait_query(wait):
    return '' if wait is None else '?wait=%s' % (float(wait) if not float(wait).is_integer() else int(wait))


def _job_id(job_id, kind='job'):
    text = str(job_id)
    if not text.isdigit():
        raise ValueError('%s ids are positive integers, got %r' % (kind, job_id))
    return text


def _describe(err):
    return '%s: %s' % (type(err).__name__, err) if str(err) else type(err).__name__


def _error_from(url, status, data):
    try:
        error = json.loads(data.decode('utf-8'))['error']
        return OffloadError(error['code'], error['message'], status, error.get('details'))
    except (ValueError, KeyError, TypeError, AttributeError):
        # Not an answer of the API (a proxy's page, a stopping server): the server is not there for us.
        return ServerUnreachable(url, 'it answered HTTP %d without an Offload error' % status)


# ---- the agent ----------------------------------------------------------------------------------------

class Context(object):
    """What a handler gets besides its input.

    - ``job``: the claimed job (id, task, attempt, maxAttempts, priority, timeoutMs, batchId, createdAt…).
    - ``progress(done, total, message=None)``: shown on the job and in the event stream.
    - ``cancelled``: True once the job was cancelled, timed out, lost its lease (another worker has
      it now) or the agent is stopping; ``reason`` says which. Check it in long loops and return
      early: whatever the handler returns then is dropped.
    - ``dependencies``: for a job that waited for others (``after``, a step of a flow), what each of
      them did: dicts ``{'id', 'name', 'task', 'state', 'result', 'error', 'policy'}`` (``name`` is
      its step name, or the name given in ``after``); empty for a job that waited for none.
      ``dependency(name_or_id)`` finds one, ``result_of(name_or_id)`` gives its result and
      ``results()`` all of them by name.
    """

    def __init__(self, job, agent):
        self.job = job
        self.reason = None
        self._agent = agent
        self._progress = None
        self._lock = threading.Lock()
        # Held while a heartbeat of this job is on the wire, so the outcome never overtakes it.
        self._wire = threading.Lock()
        self._started = time.monotonic()
        self._timeout = job['timeoutMs'] / 1000.0 if job.get('timeoutMs') else None
        # running → finishing (the outcome is being sent) | detached (nothing more is sent for it)
        self._state = 'running'

    @property
    def cancelled(self):
        return self.reason is not None

    @property
    def dependencies(self):
        return list(self.job.get('dependencies') or [])

    def dependency(self, name_or_id):
        """The dependency with this name (its step name) or job id, or None."""
        key = str(name_or_id)
        deps = self.dependencies
        return next((d for d in deps if d.get('id') == key), None) or next((d for d in deps if d.get('name') == key), None)

    def result_of(self, name_or_id):
        """The result of the job this one waited for under this name or id.

        Raises KeyError when it did not wait for it, ValueError when that job did not succeed (an
        edge with onFailure 'run' lets a job run after a failure: look at ``dependency(...)['error']``).
        """
        d = self.dependency(name_or_id)
        if d is None:
            raise KeyError('job %s did not wait for %r; it waited for %s' % (self.job.get('id'), name_or_id, ', '.join(x.get('name') or x['id'] for x in self.dependencies) or 'nothing'))
        if d['state'] != 'succeeded':
            raise ValueError('dependency %r (job %s) %s; it has no result' % (name_or_id, d['id'], d['state']))
        return d['result']

    def results(self):
        """The results of every job this one waited for, by name (by id for those without one)."""
        return {d.get('name') or d['id']: d.get('result') for d in self.dependencies}

    @property
    def lease_lost(self):
        return self.reason == 'lease-lost'

    def progress(self, done, total, message=None):
        progress = {'done': max(0, done), 'total': max(0, total)}
        if message is not None:
            progress['message'] = str(message)[:1000]
        with self._lock:
            self._progress = progress
        self._agent._progress_reported()

    def _take_progress(self):
        with self._lock:
            progress, self._progress = self._progress, None
        return progress

    def _stop(self, reason):
        if self.reason is None:
            self.reason = reason

    def _claim_outcome(self):
        """The handler returned: True if its outcome is still ours to send."""
        with self._lock:
            if self._state != 'running':
                return False
            self._state = 'finishing'
            return True

    def _detach(self, reason):
        """Nothing more is sent for this attempt (the job is no longer ours); True if it was still running."""
        self._stop(reason)
        with self._lock:
            was_running = self._state == 'running'
            self._state = 'detached'
            return was_running


class Agent(object):
    """Works on jobs of the tasks given to ``run``, until ``stop()``, SIGTERM or SIGINT.

    - ``lease``: seconds a job stays claimed without a heartbeat (default 30; heartbeats every third).
    - ``long_poll``: seconds each claim waits on the server for work (default 20).
    - ``shutdown_timeout``: on stop, seconds running jobs may take before they are released (default 10).
    """

    def __init__(self, url=DEFAULT_URL, token=None, worker_id=None, lease=30.0, heartbeat=None, long_poll=20.0, shutdown_timeout=10.0, timeout=30.0):
        if lease < 1:
            raise ValueError('lease must be at least 1 second')
        self.url = url
        self.worker_id = worker_id or _default_worker_id()
        self.lease = float(lease)
        self.heartbeat_interval = float(heartbeat) if heartbeat else self.lease / 3.0
        self.long_poll = float(long_poll)
        self.shutdown_timeout = float(shutdown_timeout)
        self._timeout = timeout
        self._client = Client(url, token, timeout)
        # The claimer's connection is its own, so that stop() can cut a waiting claim short.
        self._claim_client = Client(url, token, timeout)
        # Guards _active, _outbox and _polling; notified when a job ends, an outcome is ready, or the agent stops.
        self._lock = threading.Condition()
        self._active = {}
        # Outcomes waiting to go with the claimer's next request (ctx, call, body), and whether the
        # claimer is in a long poll now (then a worker thread sends its outcome itself).
        self._outbox = []
        self._polling = False
        self._stopping = threading.Event()
        # Wakes the heartbeat thread: progress to send, or run() is over.
        self._beat = threading.Condition()
        self._progress_pending = False
        self._done = False
        self._fatal = None

    # -- running --

    def run(self, handlers, concurrency=1, install_signals=None):
        """Runs until stopped; ``handlers`` maps task names to ``handler(input, ctx)``.

        Signal handlers (SIGTERM, SIGINT: graceful stop; a second one exits at once) are installed
        when called from the main thread, unless ``install_signals=False``. Raises the server's
        OffloadError if it refuses the agent (a bad token, tasks outside the token's patterns).
        """
        if not handlers or not all(isinstance(t, str) and callable(h) for t, h in handlers.items()):
            raise ValueError('handlers must map task names to functions handler(input, ctx)')
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError('concurrency must be an integer >= 1')
        self._handlers = dict(handlers)
        self._concurrency = concurrency
        self._stopping.clear()
        self._done = False
        self._fatal = None
        restore = self._install_signals() if install_signals is not False and threading.current_thread() is threading.main_thread() else None
        jobs = queue.Queue()
        threads = [threading.Thread(target=self._work, args=(jobs,), name='offload-worker-%d' % i, daemon=True) for i in range(concurrency)]
        threads.append(threading.Thread(target=self._heartbeats, name='offload-heartbeat', daemon=True))
        claimer = threading.Thread(target=self._claim_loop, args=(jobs,), name='offload-claimer', daemon=True)
        for t in threads + [claimer]:
            t.start()
        log.info('agent %s working on %s at %s (concurrency %d)', self.worker_id, ', '.join(self._handlers), self.url, concurrency)
        try:
            while not self._stopping.wait(0.5):
                pass
            self._shut_down(claimer)
        finally:
            for _ in range(concurrency):
                jobs.put(None)
            with self._beat:
                self._done = True
                self._beat.notify_all()
            self._client.close()
            self._claim_client.close()
            if restore:
                restore()
        if self._fatal is not None:
            raise self._fatal

    def stop(self):
        """Asks ``run`` to return: no more claims; running jobs get ``shutdown_timeout`` seconds, the rest are released."""
        self._stopping.set()
        # A claim waiting on the server would hold the claimer for up to long_poll seconds.
        self._claim_client.close()
        with self._lock:
            self._lock.notify_all()

    def _install_signals(self):
        previous = {}

        def on_signal(signum, _frame):
            if self._stopping.is_set():
                log.warning('signal %d again: exiting now; running jobs come back after their lease', signum)
                raise SystemExit(1)
            log.info('signal %d: stopping (running jobs may finish for %s s; the rest are released)', signum, self.shutdown_timeout)
            self.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)

        def restore():
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return restore

    def _shut_down(self, claimer):
        self.stop()
        claimer.join(self._timeout + 1.0)
        deadline = time.monotonic() + self.shutdown_timeout
        with self._lock:
            while self._active and time.monotonic() < deadline:
                # Outcomes the claimer did not take with it go one by one now.
                pending, self._outbox = self._outbox, []
                if pending:
                    self._lock.release()
                    try:
                        for ctx, call, body in pending:
                            self._send(ctx, call, body, tries=3)
                            self._forget(ctx)
                    finally:
                        self._lock.acquire()
                    continue
                self._lock.wait(deadline - time.monotonic())
            left = [ctx for ctx in self._active.values() if ctx._detach('shutdown')]
            pending, self._outbox = self._outbox, []
        for ctx, call, body in pending:
            self._send(ctx, call, body, tries=3)
            self._forget(ctx)
        for ctx in left:
            self._send(ctx, 'release', {}, tries=3)
        if left:
            log.warning('shutdown timeout reached; released jobs %s to the queue', ', '.join(c.job['id'] for c in left))

    # -- claiming --

    def _claim_loop(self, jobs):
        """Claims jobs for free slots. Outcomes ready meanwhile go with the claim, in one request and one
        transaction (POST /v1/jobs/finish). With none to send, a claim waits on the server: a long
        poll when no handler runs; a short one (_BUSY_POLL) while some do, so the outcomes they are
        about to hand over wait for it at most that long."""
        failures = 0
        tasks = list(self._handlers)
        while not self._stopping.is_set():
            with self._lock:
                while not self._outbox and self._running() >= self._concurrency and not self._stopping.is_set():
                    self._lock.wait()
                if self._stopping.is_set():
                    break
                outcomes, self._outbox = self._outbox[:_MAX_CLAIM], self._outbox[_MAX_CLAIM:]
                busy = self._running()
                free = self._concurrency - busy
                # Only a claim held for long makes a worker thread send its outcome itself.
                self._polling = not outcomes and not busy
            started = time.monotonic()
            try:
                if outcomes:
                    claimed = self._deliver(outcomes, tasks, free)
                else:
                    wait = min(self.long_poll, _BUSY_POLL) if busy else self.long_poll
                    claimed = self._claim_client.claim(tasks, self.worker_id, max=min(free, _MAX_CLAIM), wait_ms=int(wait * 1000), lease_ms=int(self.lease * 1000))
            except OffloadError as err:
                with self._lock:
                    self._polling = False
                    self._outbox[:0] = outcomes
                if self._stopping.is_set():
                    break
                if err.code == 'WORKER_STOPPING':
                    # An operator asked this agent to stop (POST /v1/workers/ID/stop): finish what it holds, then return.
                    log.info('an operator asked agent %s to stop; finishing the jobs it holds', self.worker_id)
                    self.stop()
                    break
                if not is_transient(err):
                    log.error('the server refused the agent: %s', err)
                    self._fatal = err
                    self.stop()
                    break
                failures += 1
                delay = min(_MAX_RETRY_DELAY, 0.05 * 2 ** min(failures, 10))
                log.error('could not %s (%s); retrying in %.2f s', 'record job outcomes' if outcomes else 'claim jobs', err.message, delay)
                self._stopping.wait(delay)
                continue
            with self._lock:
                self._polling = False
            failures = 0
            for job in claimed:
                ctx = Context(job, self)
                with self._lock:
                    self._active[job['id']] = ctx
                if self._stopping.is_set():
                    ctx._detach('shutdown')
                    self._send(ctx, 'release', {}, tries=3)
                    self._forget(ctx)
                else:
                    jobs.put(ctx)
            # A claim that answers empty at once was not held (the server is stopping): do not spin.
            if not outcomes and not claimed and time.monotonic() - started < min(0.1, _BUSY_POLL / 2):
                self._stopping.wait(1.0)

    def _running(self):
        """Jobs whose handler runs (under _lock): a job whose outcome waits to be sent no longer takes a slot."""
        return sum(1 for c in self._active.values() if c._state == 'running')

    def _deliver(self, outcomes, tasks, free):
        """Sends outcomes with a claim for the free slots; the claimed jobs. Raises OffloadError when nothing was recorded."""
        claim = None
        if free > 0:
            claim = {'tasks': tasks, 'workerId': self.worker_id, 'max': min(free, _MAX_CLAIM), 'leaseMs': int(self.lease * 1000)}
        body = [dict(body, id=ctx.job['id'], outcome=call, leaseToken=ctx.job['leaseToken']) for ctx, call, body in outcomes]
        try:
            answer = self._client.finish(body, claim)
        except OffloadError as err:
            if is_transient(err):
                raise
            # Too large together (or refused as a whole): one by one, each with its own fallback.
            for ctx, call, body in outcomes:
                self._send(ctx, call, body)
                self._forget(ctx)
            return []
        for (ctx, _call, _body), result in zip(outcomes, answer['results']):
            error = result.get('error')
            if error and error.get('code') in ('LEASE_LOST', 'JOB_NOT_FOUND'):
                log.warning('job %s (%s): lease lost before its outcome was recorded (%s); it is dropped', ctx.job['id'], ctx.job['task'], (error.get('details') or {}).get('state', 'gone'))
            elif error:
                log.error('job %s (%s): the server refused its outcome: %s: %s', ctx.job['id'], ctx.job['task'], error.get('code'), error.get('message'))
            self._forget(ctx)
        return answer['jobs']

    def _forget(self, ctx):
        """The job is no longer ours: its outcome was recorded (or refused)."""
        with self._lock:
            if self._active.get(ctx.job['id']) is ctx:
                del self._active[ctx.job['id']]
            self._lock.notify_all()

    # -- running handlers --

    def _work(self, jobs):
        while True:
            ctx = jobs.get()
            if ctx is None:
                return
            handed = False
            try:
                call, body = self._outcome(ctx)
                if ctx._claim_outcome():
                    self._flush_progress(ctx)
                    with self._lock:
                        # The claimer takes it with its next request, unless it is waiting on a long poll.
                        handed = not self._polling and not self._stopping.is_set()
                        if handed:
                            self._outbox.append((ctx, call, body))
                            self._lock.notify_all()
                    if not handed:
                        self._send(ctx, call, body)
                elif call == 'complete':
                    log.warning('job %s (%s): %s; its result is dropped', ctx.job['id'], ctx.job['task'], _reason_text(ctx.reason))
            finally:
                if not handed:
                    self._forget(ctx)

    def _flush_progress(self, ctx):
        """Progress reported just before the handler returned is recorded before the outcome (after any heartbeat in flight)."""
        with ctx._wire:
            progress = ctx._take_progress()
            if progress is None:
                return
            try:
                self._client.heartbeat(ctx.job['id'], ctx.job['leaseToken'], progress, int(self.lease * 1000))
            except OffloadError:
                pass  # the outcome matters more; sending it reports any trouble

    def _outcome(self, ctx):
        """Runs the handler; the agent call that records its outcome, and its body."""
        try:
            result = self._handlers[ctx.job['task']](ctx.job['input'], ctx)
        except RetryLater as e:
            return 'release', {'delayMs': int(e.delay * 1000)}
        except SuspendTask as e:
            try:
                self._client.suspend_task(ctx.job['task'], e.delay * 1000)
            except OffloadError as err:
                log.error('could not suspend task %s: %s', ctx.job['task'], err)
            return 'release', {}
        except Permanent as e:
            return 'fail', {'error': _error_body(e.__cause__ or e), 'retryable': False}
        except BaseException as e:  # noqa: B902 -- a handler's SystemExit must not take the worker thread with it
            return 'fail', {'error': _error_body(e)}
        try:
            json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as e:
            return 'fail', {'error': {'message': "the handler's result cannot be sent as JSON: %s" % e, 'code': 'INVALID_RESULT'}, 'retryable': False}
        return 'complete', {'result': result}

    def _send(self, ctx, call, body, tries=None):
        """Records an outcome, retrying while the server is unreachable (a few tries once stopping)."""
        job_id, token = ctx.job['id'], ctx.job['leaseToken']
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._call(call, job_id, token, body)
            except OffloadError as err:
                if not is_transient(err):
                    if err.code == 'PAYLOAD_TOO_LARGE' and call == 'complete':
                        call, body = 'fail', {'error': {'message': "the handler's result is larger than the server accepts", 'code': 'PAYLOAD_TOO_LARGE'}, 'retryable': False}
                        continue
                    if err.code in ('LEASE_LOST', 'JOB_NOT_FOUND'):
                        log.warning('job %s (%s): lease lost before its outcome was recorded (%s); it is dropped', job_id, ctx.job['task'], err.details.get('state', 'gone'))
                    else:
                        log.error('job %s (%s): the server refused its outcome: %s', job_id, ctx.job['task'], err)
                    return None
                limit = tries or (5 if self._stopping.is_set() else None)
                if limit is not None and attempt >= limit:
                    log.error('job %s (%s): could not record its outcome (%s); it runs again after its lease', job_id, ctx.job['task'], err.message)
                    return None
                delay = min(_MAX_RETRY_DELAY, 0.05 * 2 ** min(attempt, 10))
                log.error('job %s (%s): could not record its outcome (%s); retrying in %.2f s', job_id, ctx.job['task'], err.message, delay)
                time.sleep(delay)

    def _call(self, call, job_id, token, body):
        c = self._client
        if call == 'complete':
            return c.complete(job_id, token, body.get('result'))
        if call == 'fail':
            return c.fail(job_id, token, body['error'], body.get('retryable'), body.get('retryInMs'))
        return c.release(job_id, token, body.get('delayMs'))

    # -- heartbeats, progress, timeouts --

    def _progress_reported(self):
        with self._beat:
            self._progress_pending = True
            self._beat.notify()

    def _heartbeats(self):
        """Extends the leases of running jobs every heartbeat_interval, sends progress (at most
        every 0.2 s), and times out jobs past their timeoutMs. Runs until run() is over, through the
        shutdown grace period too, so jobs finishing then keep their leases."""
        next_beat = time.monotonic() + self.heartbeat_interval
        last_progress = 0.0
        while True:
            with self._beat:
                wake = min(next_beat, self._next_timeout())
                if self._progress_pending:
                    wake = min(wake, last_progress + 0.2)
                if not self._done:
                    self._beat.wait(max(0.0, wake - time.monotonic()))
                if self._done:
                    return
                now = time.monotonic()
                beat = now >= next_beat
                send_progress = self._progress_pending and now >= last_progress + 0.2
                if send_progress:
                    self._progress_pending = False
            if beat:
                next_beat = now + self.heartbeat_interval
            if send_progress:
                last_progress = now
            # Jobs whose outcome is still being sent keep their lease too (the server may be down for a while).
            with self._lock:
                held = [c for c in self._active.values() if c._state in ('running', 'finishing')]
            for ctx in held:
                if ctx._state == 'running' and ctx._timeout is not None and now - ctx._started >= ctx._timeout:
                    self._time_out(ctx)
                elif beat or (send_progress and ctx._progress is not None):
                    self._beat_one(ctx, beat)

    def _next_timeout(self):
        with self._lock:
            ends = [c._started + c._timeout for c in self._active.values() if c._timeout is not None and c._state == 'running']
        return min(ends) if ends else float('inf')

    def _beat_one(self, ctx, extend):
        try:
            with ctx._wire:
                self._client.heartbeat(ctx.job['id'], ctx.job['leaseToken'], ctx._take_progress(), int(self.lease * 1000))
        except OffloadError as err:
            if err.code in ('LEASE_LOST', 'JOB_NOT_FOUND'):
                if ctx._state != 'running':
                    return  # an outcome just recorded ends the lease too: nothing to tell then
                cancelled = err.details.get('state') == 'cancelled'
                ctx._detach('cancelled' if cancelled else 'lease-lost')
                log.warning('job %s (%s): %s; its handler should stop', ctx.job['id'], ctx.job['task'], _reason_text(ctx.reason))
            elif extend:
                log.error('heartbeat for job %s failed (%s); its lease expires if the server stays unreachable', ctx.job['id'], err.message)

    def _time_out(self, ctx):
        if not ctx._detach('timeout'):
            return
        ms = ctx.job['timeoutMs']
        log.warning('job %s (%s) timed out after %d ms; recording the failure', ctx.job['id'], ctx.job['task'], ms)
        error = {'message': 'Job %s timed out after %d ms. Make the handler faster, check ctx.cancelled, or raise the task\'s timeoutMs.' % (ctx.job['id'], ms), 'code': 'JOB_TIMEOUT'}
        self._send(ctx, 'fail', {'error': error}, tries=3)


def _error_body(err):
    """An exception as the API's {message, code, stack}."""
    body = {'message': (str(err) or type(err).__name__)[:10000], 'code': _error_code(err)}
    stack = ''.join(traceback.format_exception(type(err), err, err.__traceback__))
    if stack:
        body['stack'] = stack[-10000:]
    return body


def _error_code(err):
    code = getattr(err, 'code', None)
    if isinstance(code, str) and 0 < len(code) <= 100 and all(ch.isalnum() or ch in '_.:-' for ch in code):
        return code
    return type(err).__name__[:100]


def _reason_text(reason):
    return {
        'cancelled': 'the job was cancelled',
        'lease-lost': 'its lease was lost (another worker has it now)',
        'timeout': 'it timed out',
        'shutdown': 'the agent is stopping',
    }.get(reason, str(reason))


def _default_worker_id():
    raw = 'py:%s:%d' % (socket.gethostname(), os.getpid())
    return ''.join(ch if ch in _WORKER_ID_CHARS else '_' for ch in raw)[:200]


if __name__ == '__main__':  # pragma: no cover
    sys.exit('offload_agent is a library: from offload_agent import Agent, Client')
