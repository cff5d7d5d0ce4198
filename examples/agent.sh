#!/bin/sh
# An agent in shell: submit a job, claim it, report progress, complete it. Any language with an
# HTTP client does the same. Tokens: SUBMIT_TOKEN (scope submit), WORK_TOKEN (scope work).
set -eu
URL=${OFFLOAD_URL:-http://127.0.0.1:7070}
post() { curl -sS --fail-with-body -X POST "$URL$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$3"; }
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

# The agent's first claim registers its task, so web apps can submit to it (none is queued yet).
post /v1/claim "$WORK_TOKEN" '{"tasks":["shell.resize"],"workerId":"shell-1"}' >/dev/null

# A web app submits a job.
JOB=$(post /v1/jobs "$SUBMIT_TOKEN" '{"task":"shell.resize","input":{"image":"cat.png","width":64}}' | field id)
echo "submitted job $JOB"

# The agent claims it: waits up to 10 s for a job, then holds it for 60 s unless it heartbeats.
CLAIM=$(post /v1/claim "$WORK_TOKEN" '{"tasks":["shell.resize"],"workerId":"shell-1","waitMs":10000,"leaseMs":60000}')
ID=$(echo "$CLAIM" | field id)
LEASE=$(echo "$CLAIM" | field leaseToken)

# Work, heartbeating with progress (a heartbeat also extends the lease).
post "/v1/jobs/$ID/heartbeat" "$WORK_TOKEN" "{\"leaseToken\":\"$LEASE\",\"progress\":{\"done\":1,\"total\":2,\"message\":\"resizing\"}}" >/dev/null

# Finish with a result (or POST …/fail with {"leaseToken","error"}, or …/release to give it back).
post "/v1/jobs/$ID/complete" "$WORK_TOKEN" "{\"leaseToken\":\"$LEASE\",\"result\":{\"thumbnail\":\"cat-64.png\"}}"
echo
