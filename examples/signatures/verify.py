# A webhook receiver that refuses any request Offload did not sign, or that is replayed.
# A WSGI app (serve it with gunicorn, uWSGI…; run directly, it serves itself on PORT).
# OFFLOAD_SIGNING_SECRET is the endpoint's secret; clients/python/offload_signature.py is on PYTHONPATH.
import json
import os
from offload_signature import SignatureError, verify_signature

SECRET = os.environ['OFFLOAD_SIGNING_SECRET']


def application(environ, start_response):
    body = environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))  # the raw bytes
    try:
        verify_signature(SECRET, environ.get('HTTP_OFFLOAD_SIGNATURE'), body)
    except SignatureError as e:
        start_response('401 Unauthorized', [('Content-Type', 'text/plain')])
        return [e.code.encode()]  # SIGNATURE_MISSING, SIGNATURE_INVALID or SIGNATURE_EXPIRED
    event = json.loads(body)
    print('received', event['type'], flush=True)
    start_response('204 No Content', [])
    return []


if __name__ == '__main__':
    from wsgiref.simple_server import make_server
    server = make_server('127.0.0.1', int(os.environ.get('PORT', '8080')), application)
    print('listening on http://127.0.0.1:%d' % server.server_port, flush=True)
    server.serve_forever()
