"""An agent for the crash test (test/clients/python.test.ts): `hang` announces its job and its lease token
and hangs until it is killed; `finish` completes jobs. Every start and finish is logged to $HANDLER_LOG."""

import os
import sys
import threading

from offload_agent import Agent

url, token, task, mode = sys.argv[1:5]
handler_log = os.environ['HANDLER_LOG']


def handler(input, ctx):
    with open(handler_log, 'a') as f:
        f.write('start %s %d\n' % (ctx.job['id'], ctx.job['attempt']))
    if mode == 'hang':
        print('STARTED %s %s' % (ctx.job['id'], ctx.job['leaseToken']), flush=True)
        threading.Event().wait()
    with open(handler_log, 'a') as f:
        f.write('done %s\n' % ctx.job['id'])
    return {'finishedOnAttempt': ctx.job['attempt']}


# A short lease for the agent that will be killed, so its job comes back within seconds.
Agent(url, token, lease=2.0 if mode == 'hang' else 30.0).run({task: handler})
