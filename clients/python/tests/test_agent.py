"""Agent: claiming, running, outcomes, progress, heartbeats, cancellation, timeouts, shutdown, an unreachable server."""

import os
import subprocess
import sys
import threading
import time
import unittest

from offload_agent import OffloadError, Permanent, RetryLater, SuspendTask
from support import (
    WAIT, CuttableProxy, LogWatcher, RunningAgent, admin, agent, env, eventually, new_task, submitter, url, work_token,
)


def wait_until_cancelled(ctx, timeout=WAIT):
    """What a long handler does: check ctx.cancelled between steps of work."""
    deadline = time.monotonic() + timeout
    while not ctx.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    return ctx.reason


class RunningJobsTest(unittest.TestCase):
    def test_runs_jobs_in_parallel_up_to_its_concurrency(self):
        task = new_task('parallel')
        lock = threading.Lock()
        running = {'now': 0, 'most': 0}
        three_running = threading.Event()
        go = threading.Event()

        def handler(input, ctx):
            with lock:
                running['now'] += 1
                running['most'] = max(running['most'], running['now'])
                if running['now'] == 3:
                    three_running.set()
            go.wait(WAIT)
            with lock:
                running['now'] -= 1
            return input * 2

        ids = [submitter().submit(task, n)['id'] for n in range(6)]
        with RunningAgent(agent(), {task: handler}, concurrency=3):
            self.assertTrue(three_running.wait(WAIT))
            go.set()
            results = [submitter().get(i, wait=WAIT)['result'] for i in ids]
        self.assertEqual(results, [0, 2, 4, 6, 8, 10])
        self.assertEqual(running['most'], 3)

    def test_records_many_outcomes_with_the_next_claim(self):
        task = new_task('batched')
        ids = [submitter().submit(task, n)['id'] for n in range(60)]
        with RunningAgent(agent(), {task: lambda input, ctx: input + 1}, concurrency=8):
            results = [submitter().get(i, wait=WAIT)['result'] for i in ids]
        self.assertEqual(results, [n + 1 for n in range(60)])

    def test_handlers_see_the_job_and_report_progress(self):
        task = new_task('progress')
        reported = threading.Event()
        finish = threading.Event()
        seen = {}

        def handler(input, ctx):
            seen.update(ctx.job)
            ctx.progress(1, 4, 'a quarter')
            reported.set()
            finish.wait(WAIT)
            return 'ok'
        job = submitter().submit(task, {'x': 1})
        with RunningAgent(agent(worker_id='py-progress'), {task: handler}):
            self.assertTrue(reported.wait(WAIT))
            eventually(lambda: submitter().get(job['id'])['progress'] == {'done': 1, 'total': 4, 'message': 'a quarter'}, 'the progress is on the job')
            finish.set()
            done = submitter().get(job['id'], wait=WAIT)
        self.assertEqual((seen['id'], seen['task'], seen['attempt'], done['workerId']), (job['id'], task, 1, 'py-progress'))

    def test_heartbeats_keep_a_job_longer_than_its_lease(self):
        task = new_task('long')
        job = submitter().submit(task, None)
        with RunningAgent(agent(lease=1.0), {task: lambda input, ctx: time.sleep(1.6) or "slow but mine"}):
            done = submitter().get(job['id'], wait=WAIT)
        self.assertEqual((done['state'], done['result'], done['attempt']), ('succeeded', 'slow but mine', 1))


class OutcomesTest(unittest.TestCase):
    def test_an_exception_fails_the_attempt_and_the_task_policy_retries_it(self):
        task = new_task('flaky', max_attempts=2, backoff={'type': 'fixed', 'delayMs': 0})

        def handler(input, ctx):
            if ctx.job['attempt'] == 1:
                raise ValueError('boom')
            return 'second time lucky'
        job = submitter().submit(task, None)
        with RunningAgent(agent(), {task: handler}):
            done = submitter().get(job['id'], wait=WAIT)
        self.assertEqual((done['state'], done['result'], done['attempt']), ('succeeded', 'second time lucky', 2))
        error = done['errors'][0]
        self.assertEqual((error['message'], error['code']), ('boom', 'ValueError'))
        self.assertIn('raise ValueError', error['stack'])

    def test_the_last_failed_attempt_fails_the_job(self):
        task = new_task('doomed', max_attempts=1)
        job = submitter().submit(task, None)
        with RunningAgent(agent(), {task: lambda input, ctx: 1 / 0}):
            done = submitter().get(job['id'], wait=WAIT)
        self.assertEqual((done['state'], done['error']['code'], done['error']['message']), ('failed', 'ZeroDivisionError', 'division by zero'))

    def test_permanent_fails_at_once(self):
        task = new_task('permanent', max_attempts=5)

        def handler(input, ctx):
            raise Permanent('the image is corrupt')
        job = submitter().submit(task, None)
        with RunningAgent(agent(), {task: handler}):
            done = submitter().get(job['id'], wait=WAIT)
        self.assertEqual((done['state'], done['attempt'], done['error']['message']), ('failed', 1, 'the image is corrupt'))

    def test_retry_later_gives_the_job_back_without_counting_the_attempt(self):
        task = new_task('later')
        calls = []

        def handler(input, ctx):
            calls.append(ctx.job['attempt'])
            if len(calls) == 1:
                raise RetryLater(0.1, 'upstream busy')
            return 'later'
        job = submitter().submit(task, None)
        with RunningAgent(agent(), {task: handler}):
            done = submitter().get(job['id'], wait=WAIT)
        self.assertEqual((done['state'], done['result'], done['attempt'], calls), ('succeeded', 'later', 1, [1, 1]))

    def test_suspend_task_pauses_the_whole_task(self):
        task = new_task('suspend')
        calls = []

        def handler(input, ctx):
            calls.append(input)
            if len(calls) == 1:
                raise SuspendTask(60, 'rate limited')
            return input
        first = submitter().submit(task, 1)
        with RunningAgent(agent(), {task: handler}):
            eventually(lambda: submitter().get(first['id'])['state'] == 'queued' and calls, 'the job is back in the queue')
            self.assertEqual(admin().claim([task]), [], 'nothing of the task is claimable while it is suspended')
        self.assertEqual(calls, [1])

    def test_a_result_that_is_not_json_fails_the_job(self):
        task = new_task('weird', max_attempts=3)
        job = submitter().submit(task, None)
        with RunningAgent(agent(), {task: lambda input, ctx: {1, 2}}):
            done = submitter().get(job['id'], wait=WAIT)
        self.assertEqual((done['state'], done['attempt'], done['error']['code']), ('failed', 1, 'INVALID_RESULT'))


class StoppingTest(unittest.TestCase):
    def test_a_cancelled_job_sets_ctx_cancelled_and_its_result_is_dropped(self):
        task = new_task('cancel')
        started = threading.Event()
        reasons = []

        def handler(input, ctx):
            started.set()
            reasons.append(wait_until_cancelled(ctx))
            return 'too late'
        job = submitter().submit(task, None)
        with RunningAgent(agent(lease=1.0), {task: handler}):
            self.assertTrue(started.wait(WAIT))
            admin().cancel(job['id'])
            eventually(lambda: reasons, 'the handler saw the cancellation')
        self.assertEqual(reasons, ['cancelled'])
        done = submitter().get(job['id'])
        self.assertEqual((done['state'], done['result']), ('cancelled', None))

    def test_a_handler_past_its_timeout_is_told_and_the_attempt_fails_with_job_timeout(self):
        task = new_task('timeout', max_attempts=1)
        reasons = []

        def handler(input, ctx):
            reasons.append(wait_until_cancelled(ctx))
            return 'too late'
        job = submitter().submit(task, None, timeout_ms=300)
        with RunningAgent(agent(), {task: handler}):
            done = submitter().get(job['id'], wait=WAIT)
            eventually(lambda: reasons, 'the handler returned')
        self.assertEqual(reasons, ['timeout'])
        self.assertEqual((done['state'], done['error']['code']), ('failed', 'JOB_TIMEOUT'))

    def test_stop_lets_running_jobs_finish(self):
        task = new_task('finish')
        started = threading.Event()
        finish = threading.Event()

        def handler(input, ctx):
            started.set()
            finish.wait(WAIT)
            return 'finished'
        job = submitter().submit(task, None)
        running = RunningAgent(agent(shutdown_timeout=WAIT), {task: handler}).__enter__()
        self.assertTrue(started.wait(WAIT))
        stopping = threading.Thread(target=running.stop)
        stopping.start()
        finish.set()
        stopping.join(WAIT)
        self.assertEqual(submitter().get(job['id'])['state'], 'succeeded')

    def test_stop_releases_jobs_still_running_at_the_deadline(self):
        task = new_task('release')
        started = threading.Event()
        reasons = []

        def handler(input, ctx):
            started.set()
            reasons.append(wait_until_cancelled(ctx))
        job = submitter().submit(task, None)
        running = RunningAgent(agent(shutdown_timeout=0.2, lease=30.0), {task: handler}).__enter__()
        self.assertTrue(started.wait(WAIT))
        running.stop()
        released = submitter().get(job['id'])
        self.assertEqual((released['state'], released['attempt']), ('queued', 0), 'back in the queue at once, the attempt not counted')
        eventually(lambda: reasons, 'the handler was told')
        self.assertEqual(reasons, ['shutdown'])

    def test_an_operator_stop_over_http_lets_the_running_job_finish_and_run_return(self):
        task = new_task('operator')
        started = threading.Event()
        finish = threading.Event()

        def handler(input, ctx):
            started.set()
            finish.wait(WAIT)
            return 'finished'
        first = submitter().submit(task, None)
        worker = agent(worker_id='py-stop-%s' % task.rsplit('.', 1)[1], long_poll=0.2)
        running = RunningAgent(worker, {task: handler}, concurrency=1).__enter__()
        self.assertTrue(started.wait(WAIT))
        self.assertEqual(admin().request('POST', '/v1/workers/%s/stop' % worker.worker_id), {'id': worker.worker_id, 'stopping': True})
        second = submitter().submit(task, None)
        finish.set()
        self.assertTrue(running.join(WAIT), 'run() returned once its job was done')
        self.assertIsNone(running.error)
        self.assertEqual(submitter().get(first['id'])['state'], 'succeeded')
        self.assertEqual(submitter().get(second['id'])['state'], 'queued', 'claimed by no one after the stop')

    def test_sigterm_stops_claiming_and_lets_the_running_job_finish(self):
        task = new_task('sigterm')
        script = (
            'import sys, time\n'
            'from offload_agent import Agent\n'
            'def handler(input, ctx):\n'
            '    print("RUNNING", flush=True)\n'
            '    time.sleep(0.5)  # work in progress when the signal comes\n'
            '    return "finished after SIGTERM"\n'
            'Agent(sys.argv[1], sys.argv[2], lease=30, shutdown_timeout=10).run({sys.argv[3]: handler})\n'
            'print("STOPPED", flush=True)\n'
        )
        job = submitter().submit(task, None)
        child = subprocess.Popen([sys.executable, '-c', script, url(), work_token(), task], stdout=subprocess.PIPE, text=True,
                                 env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        try:
            self.assertEqual(child.stdout.readline().strip(), 'RUNNING')
            child.terminate()
            self.assertEqual(child.wait(WAIT), 0)
            self.assertEqual(child.stdout.read().strip(), 'STOPPED')
        finally:
            child.kill()
            child.stdout.close()
        done = submitter().get(job['id'])
        self.assertEqual((done['state'], done['result']), ('succeeded', 'finished after SIGTERM'))


class ServerTroubleTest(unittest.TestCase):
    def test_a_token_the_server_refuses_makes_run_raise(self):
        with self.assertRaises(OffloadError) as refused:
            agent().run({'elsewhere.task': lambda input, ctx: None}, install_signals=False)
        self.assertEqual(refused.exception.code, 'FORBIDDEN')

    def test_keeps_trying_while_the_server_is_unreachable(self):
        task = new_task('patient')
        proxy = CuttableProxy(url())
        try:
            proxy.cut()
            with LogWatcher() as logs, RunningAgent(agent(proxy.url), {task: lambda input, ctx: 'made it'}):
                logs.wait_for('could not claim jobs')
                proxy.restore()
                done = submitter().get(submitter().submit(task, None)['id'], wait=WAIT)
            self.assertEqual((done['state'], done['result']), ('succeeded', 'made it'))
        finally:
            proxy.close()

    def test_an_agent_cut_off_for_longer_than_its_lease_loses_the_job_and_its_late_result(self):
        task = new_task('partition')
        proxy = CuttableProxy(url())
        started = threading.Event()
        reasons = []

        def cut_off(input, ctx):
            started.set()
            reasons.append(wait_until_cancelled(ctx))
            return 'from the cut-off agent'
        job = submitter().submit(task, None)
        try:
            with LogWatcher() as logs, RunningAgent(agent(proxy.url, lease=1.0), {task: cut_off}):
                self.assertTrue(started.wait(WAIT))
                proxy.cut()
                # The lease runs out; the server puts the job back and another agent finishes it.
                with RunningAgent(agent(), {task: lambda input, ctx: 'from the other agent'}):
                    done = submitter().get(job['id'], wait=WAIT)
                proxy.restore()
                eventually(lambda: reasons, 'the cut-off agent learnt that it lost the job')
                logs.wait_for('lease was lost', level=30)
        finally:
            proxy.close()
        self.assertEqual(reasons, ['lease-lost'])
        self.assertEqual((done['state'], done['result'], done['attempt']), ('succeeded', 'from the other agent', 2))
        self.assertEqual(done['errors'][0]['code'], 'LEASE_EXPIRED')
        self.assertEqual(submitter().get(job['id'])['result'], 'from the other agent', 'the late result was not recorded')


if __name__ == '__main__':
    env('OFFLOAD_URL')
    unittest.main()
