# An agent in Python: makes thumbnails for Offload until SIGTERM or Ctrl-C.
# OFFLOAD_URL is the server (what `offload start` prints); OFFLOAD_TOKEN a token of scope work.
import os
from offload_agent import Agent, Permanent


def thumbnail(input, ctx):
    if input.get('width', 0) <= 0:
        raise Permanent('width must be a positive number')  # fails now: no retry will fix it
    ctx.progress(1, 2, 'resizing')
    return {'thumbnail': '%s-%d.png' % (input['image'].rsplit('.', 1)[0], input['width'])}


agent = Agent(os.environ.get('OFFLOAD_URL', 'http://127.0.0.1:7070'), os.environ.get('OFFLOAD_TOKEN'))
agent.run({'images.thumbnail': thumbnail}, concurrency=4)
