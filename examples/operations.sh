#!/bin/sh
# An operator's round over the HTTP API, with an admin token (ADMIN_TOKEN): a token for a dashboard,
# what failed today, every failed job of a task retried in one request, old cancelled jobs deleted,
# and the audit log of what was done.
set -eu
URL=${OFFLOAD_URL:-http://127.0.0.1:7070}
TASK=${1:-shell.report}
api() { curl -sS --fail-with-body -X "$1" "$URL$2" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"}; }

# A read-only token for a dashboard: the answer carries its secret, the only time it is shown.
api POST /v1/tokens '{"name":"dashboard","scope":"read"}' | sed 's/"secret":"[^"]*"/"secret":"(shown once)"/'
echo

# Failed jobs since midnight (UTC), grouped by task and error message, most recent first.
api GET "/v1/errors?since=$(date -u +%Y-%m-%d)"
echo

# Every failed job of the task back in the queue: one request, done in pages on the server.
api POST /v1/jobs/bulk "{\"action\":\"retry\",\"filter\":{\"task\":\"$TASK\",\"state\":\"failed\"}}"
echo

# Cancelled jobs of the task created before today, deleted (delete takes finished jobs only).
api POST /v1/jobs/bulk "{\"action\":\"delete\",\"filter\":{\"task\":\"$TASK\",\"state\":\"cancelled\",\"until\":\"$(date -u +%Y-%m-%d)\"}}"
echo

# What was done, by whom: the last three actions.
api GET '/v1/audit?limit=3'
echo
