"""What the tests share: the server they run against, agents in threads, a proxy that can cut the network.

`npm test` (test/clients/python.test.ts) starts a real `offload start` and passes its address and
tokens in the environment: OFFLOAD_URL, OFFLOAD_WORK_TOKEN (scope work, tasks py.*),
OFFLOAD_SUBMIT_TOKEN (scope submit, tasks py.*), OFFLOAD_ADMIN_TOKEN.
"""

import logging
import os
import socket
import struct
import threading
import time
import unittest
import uuid

from offload_agent import Agent, Client

WAIT = 10.0


def env(name):
    value = os.environ.get(name)
    if not value:
        raise unittest.SkipTest('%s is not set: `npm test` runs these tests against a real server (test/clients/python.test.ts)' % name)
    return value


def url():
    return env('OFFLOAD_URL')


def work_token():
    return env('OFFLOAD_WORK_TOKEN')


def submitter():
    return Client(url(), env('OFFLOAD_SUBMIT_TOKEN'))


def admin():
    return Client(url(), env('OFFLOAD_ADMIN_TOKEN'))


def new_task(label, **settings):
    """A task of its own for one test (tasks are shared by every test on the server), declared so jobs can be submitted at once."""
    task = 'py.%s.%s' % (label, uuid.uuid4().hex[:8])
    admin().declare_task(task, **settings)
    return task


def agent(server_url=None, **options):
    options.setdefault('lease', 1.0)
    options.setdefault('long_poll', 5.0)
    return Agent(server_url or url(), work_token(), **options)


class RunningAgent(object):
    """Runs `agent.run(handlers)` in a thread for a `with` block; stops it (gracefully) at the end."""

    def __init__(self, agent, handlers, concurrency=1):
        self.agent = agent
        self.error = None
        self._thread = threading.Thread(target=self._run, args=(handlers, concurrency), daemon=True)

    def _run(self, handlers, concurrency):
        try:
            self.agent.run(handlers, concurrency=concurrency, install_signals=False)
        except BaseException as err:  # noqa: B902 -- reported by stop()
            self.error = err

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self, timeout=WAIT + 5):
        self.agent.stop()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError('the agent did not stop within %s s' % timeout)

    def join(self, timeout=WAIT):
        self._thread.join(timeout)
        return not self._thread.is_alive()


def eventually(check, what, timeout=WAIT):
    """For outcomes no call waits on (a job back in the queue): looks again after short pauses until `check()` is true."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting until %s' % what)
        time.sleep(0.01)


class LogWatcher(logging.Handler):
    """Collects the agent's log records, and lets a test wait for one."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
        self._cond = threading.Condition()

    def emit(self, record):
        with self._cond:
            self.records.append(record)
            self._cond.notify_all()

    def wait_for(self, text, level=logging.ERROR, timeout=WAIT):
        def found():
            return any(r.levelno >= level and text in r.getMessage() for r in self.records)
        with self._cond:
            if not self._cond.wait_for(found, timeout):
                raise AssertionError('no log record at level >= %s containing %r; got %r' % (level, text, [r.getMessage() for r in self.records]))

    def __enter__(self):
        logger = logging.getLogger('offload_agent')
        self._level = logger.level
        logger.addHandler(self)
        logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc):
        logger = logging.getLogger('offload_agent')
        logger.removeHandler(self)
        logger.setLevel(self._level)


class CuttableProxy(object):
    """A TCP proxy in front of the server that a test can cut (the network is down) and restore."""

    def __init__(self, target_url):
        host_port = target_url.split('://', 1)[1].split('/', 1)[0]
        host, port = host_port.rsplit(':', 1)
        self._target = (host, int(port))
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(64)
        self.url = 'http://127.0.0.1:%d' % self._listener.getsockname()[1]
        self._up = True
        self._sockets = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self):
        with self._lock:
            self._up = False
            sockets, self._sockets = self._sockets, set()
        for s in sockets:
            _reset(s)

    def restore(self):
        with self._lock:
            self._up = True

    def close(self):
        self.cut()
        self._listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                up = self._up
            if not up:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()


def _pump(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    for s in (source, sink):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _reset(sock):
    """Closes with a reset, as a dead network or a crashed server would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def free_port():
    """A port nothing listens on (taken from the system, then let go)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
