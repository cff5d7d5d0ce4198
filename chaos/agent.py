"""The HTTP agent of a chaos scenario: the Python client's Agent, running chaos.work like the Node
workers do, writing each run down first (see chaos/tasks.ts). Usage: agent.py URL RUNS_DIR."""

import logging
import os
import sys
import time

from offload_agent import Agent

url, runs_dir = sys.argv[1], sys.argv[2]
runs = open(os.path.join(runs_dir, 'runs-agent-%d.log' % os.getpid()), 'a', buffering=1)


def work(input, ctx):
    runs.write('%s %s\n' % (ctx.job['id'], ctx.job['attempt']))
    if input.get('ms'):
        time.sleep(input['ms'] / 1000.0)
    return {'seq': input['seq']}


logging.basicConfig(level=logging.WARNING, format='%(message)s')
Agent(url, lease=5.0, long_poll=5.0, shutdown_timeout=2.0, timeout=10.0).run({'chaos.work': work}, concurrency=4)
