"""Client: submitting jobs and reading them back, and the errors the server answers with."""

import unittest

from offload_agent import Client, JobFailed, OffloadError, Permanent, ServerUnreachable
from support import WAIT, RunningAgent, admin, agent, free_port, new_task, submitter, url, work_token


class SubmitTest(unittest.TestCase):
    def test_submit_returns_the_job_and_get_with_wait_returns_it_finished(self):
        task = new_task('submit')
        job = submitter().submit(task, {'n': 1}, priority=3, max_attempts=2, unique_key='k1')
        self.assertEqual((job['task'], job['state'], job['input'], job['priority'], job['maxAttempts']), (task, 'queued', {'n': 1}, 3, 2))
        self.assertIsInstance(job['id'], str)
        self.assertEqual(submitter().submit(task, {'n': 2}, unique_key='k1')['id'], job['id'], 'the unique key returned the queued job')
        with RunningAgent(agent(), {task: lambda input, ctx: input['n'] + 1}):
            done = submitter().get(job['id'], wait=WAIT)
        self.assertEqual((done['state'], done['result'], done['attempt']), ('succeeded', 2, 1))

    def test_submit_with_an_idempotency_key_stores_the_job_once(self):
        task = new_task('idempotent')
        first = submitter().submit(task, {'n': 1}, idempotency_key='order-7')
        again = submitter().submit(task, {'n': 1}, idempotency_key='order-7')
        self.assertEqual(again['id'], first['id'])
        with self.assertRaises(OffloadError) as reused:
            submitter().submit(task, {'n': 2}, idempotency_key='order-7')
        self.assertEqual((reused.exception.code, reused.exception.status), ('IDEMPOTENCY_KEY_REUSED', 422))

    def test_submit_with_wait_holds_until_the_job_finishes_or_the_wait_ends(self):
        task = new_task('wait')
        self.assertEqual(submitter().submit(task, None, wait=0.2)['state'], 'queued', 'no agent: the job as it stands')
        with RunningAgent(agent(), {task: lambda input, ctx: 'done'}):
            job = submitter().submit(task, None, wait=WAIT)
        self.assertEqual((job['state'], job['result']), ('succeeded', 'done'))

    def test_run_returns_the_result_or_raises_job_failed(self):
        task = new_task('run', max_attempts=1)

        def handler(input, ctx):
            if input == 'bad':
                raise Permanent('no good')
            return input.upper()
        with RunningAgent(agent(), {task: handler}):
            self.assertEqual(submitter().run(task, 'abc', timeout=WAIT), 'ABC')
            with self.assertRaises(JobFailed) as failed:
                submitter().run(task, 'bad', timeout=WAIT)
        self.assertEqual((failed.exception.job['state'], failed.exception.job['error']['message']), ('failed', 'no good'))

    def test_cancel_needs_an_admin_token(self):
        task = new_task('cancel')
        job = submitter().submit(task, None)
        with self.assertRaises(OffloadError) as refused:
            submitter().cancel(job['id'])
        self.assertEqual((refused.exception.code, refused.exception.status), ('FORBIDDEN', 403))
        self.assertEqual(admin().cancel(job['id'])['state'], 'cancelled')


class FinishTest(unittest.TestCase):
    def test_finish_records_several_outcomes_each_with_its_result_and_claims_with_them(self):
        task = new_task('finish')
        for n in range(3):
            submitter().submit(task, n)
        worker = Client(url(), work_token())
        a, b = worker.claim([task], max=2)
        answer = worker.finish([
            {'id': a['id'], 'outcome': 'complete', 'leaseToken': a['leaseToken'], 'result': 'done'},
            {'id': b['id'], 'outcome': 'complete', 'leaseToken': '12345', 'result': 'stale'},
        ], claim={'tasks': [task], 'max': 5})
        self.assertEqual(answer['results'][0]['state'], 'succeeded')
        self.assertEqual(answer['results'][1]['error']['code'], 'LEASE_LOST')
        self.assertEqual([j['input'] for j in answer['jobs']], [2])


class ErrorTest(unittest.TestCase):
    def test_server_errors_carry_their_code_status_and_details(self):
        with self.assertRaises(OffloadError) as unknown:
            submitter().submit('py.no.such.task', None)
        self.assertEqual((unknown.exception.code, unknown.exception.status, unknown.exception.details['task']), ('UNKNOWN_TASK', 404, 'py.no.such.task'))
        with self.assertRaises(OffloadError) as outside:
            submitter().submit('elsewhere.task', None)
        self.assertEqual(outside.exception.code, 'FORBIDDEN')
        with self.assertRaises(OffloadError) as bad_token:
            Client(url(), 'ofl_wrong').get('1')
        self.assertEqual((bad_token.exception.code, bad_token.exception.status), ('UNAUTHORIZED', 401))
        with self.assertRaises(OffloadError) as missing:
            submitter().get('999999999')
        self.assertEqual(missing.exception.code, 'JOB_NOT_FOUND')

    def test_bad_arguments_are_refused_before_anything_is_sent(self):
        with self.assertRaises(TypeError):
            submitter().submit('py.x', None, retries=3)
        with self.assertRaises(ValueError):
            submitter().get('1; DROP TABLE jobs')
        with self.assertRaises(ValueError):
            Client('ftp://example.com')
        with self.assertRaises(ValueError):
            submitter().submit('py.x', float('nan'))

    def test_an_unreachable_server_is_server_unreachable(self):
        with self.assertRaises(ServerUnreachable) as down:
            Client('http://127.0.0.1:%d' % free_port(), timeout=2).get('1')
        self.assertEqual(down.exception.code, 'SERVER_UNREACHABLE')
        self.assertIn('ConnectionRefusedError', down.exception.details['problem'])


if __name__ == '__main__':
    unittest.main()


class DependenciesAndFlowsTest(unittest.TestCase):
    def test_a_job_submitted_after_another_waits_and_its_handler_reads_the_result_by_name(self):
        base, joined = new_task('base'), new_task('joined')
        first = submitter().submit(base, 4)
        waiting = submitter().submit(joined, {'times': 10}, after={'base': first})
        self.assertEqual((waiting['state'], waiting['waitingFor']), ('waiting', 1))
        seen = {}

        def join(input, ctx):
            seen['dependencies'] = ctx.dependencies
            seen['results'] = ctx.results()
            return ctx.result_of('base') * input['times']
        with RunningAgent(agent(), {base: lambda input, ctx: input + 1, joined: join}):
            done = submitter().get(waiting['id'], wait=WAIT)
        self.assertEqual((done['state'], done['result']), ('succeeded', 50))
        self.assertEqual(seen['dependencies'], [{'id': first['id'], 'name': 'base', 'task': base, 'state': 'succeeded', 'result': 5, 'error': None, 'policy': 'cancel'}])
        self.assertEqual(seen['results'], {'base': 5})

    def test_after_a_job_that_does_not_exist_is_unknown_dependency(self):
        task = new_task('orphan')
        with self.assertRaises(OffloadError) as err:
            submitter().submit(task, None, after=['999999999'])
        self.assertEqual((err.exception.code, err.exception.status), ('UNKNOWN_DEPENDENCY', 404))

    def test_a_flow_whose_second_step_reads_the_first_steps_result_is_read_back(self):
        fetch, parse = new_task('fetch'), new_task('parse')

        def parse_handler(input, ctx):
            page = ctx.result_of('fetch')
            return {'words': len(page.split()), 'from': ctx.dependency('fetch')['id']}
        with RunningAgent(agent(), {fetch: lambda input, ctx: 'hello flow from ' + input, parse: parse_handler}, concurrency=2):
            answer = submitter().flow({
                'fetch': {'task': fetch, 'input': 'python', 'max_attempts': 2},
                'parse': {'task': parse, 'after': ['fetch']},
            }, title='py flow', wait=WAIT)
        self.assertEqual((answer['flow']['kind'], answer['flow']['title'], answer['flow']['state'], answer['flow']['ok']), ('flow', 'py flow', 'finished', True))
        steps = {s['step']: s for s in answer['steps']}
        self.assertEqual((steps['parse']['after'], steps['parse']['state']), (['fetch'], 'succeeded'))
        jobs = {j['step']: j for j in answer['jobs']}
        self.assertEqual(jobs['parse']['result'], {'words': 4, 'from': steps['fetch']['id']})
        self.assertEqual(jobs['fetch']['maxAttempts'], 2)
        read = submitter().get_flow(answer['flow']['id'])
        self.assertEqual([(s['step'], s['state']) for s in read['steps']], [('fetch', 'succeeded'), ('parse', 'succeeded')])
        self.assertEqual(read['failures'], [])

    def test_a_flow_can_be_watched_and_cancelled_and_a_cycle_is_refused(self):
        task = new_task('flowcancel')
        answer = submitter().flow({'a': {'task': task}, 'b': {'task': task, 'after': ['a']}, 'c': {'task': task, 'after': [{'step': 'b', 'onFailure': 'run'}]}})
        self.assertEqual([s['state'] for s in answer['steps']], ['queued', 'waiting', 'waiting'])
        self.assertEqual(submitter().get_flow(answer['flow']['id'], wait=0.2)['flow']['state'], 'running', 'no agent: the flow as it stands')
        with self.assertRaises(OffloadError) as forbidden:
            submitter().cancel_flow(answer['flow']['id'])
        self.assertEqual(forbidden.exception.code, 'FORBIDDEN')
        cancelled = admin().cancel_flow(answer['flow']['id'])
        self.assertEqual((cancelled['cancelled'], cancelled['flow']['state']), (3, 'finished'))
        with self.assertRaises(OffloadError) as cycle:
            submitter().flow({'a': {'task': task, 'after': ['b']}, 'b': {'task': task, 'after': ['a']}})
        self.assertEqual((cycle.exception.code, cycle.exception.status), ('INVALID_FLOW', 400))
        with self.assertRaises(OffloadError) as missing:
            submitter().get_flow('999999999')
        self.assertEqual(missing.exception.code, 'FLOW_NOT_FOUND')
