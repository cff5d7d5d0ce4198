#!/bin/sh
# An operator adds a schedule, looks at it, runs it once by hand, pauses and resumes it, and removes it.
set -eu
OFFLOAD=${OFFLOAD:-npx offload} # how to run the offload command

$OFFLOAD schedule add nightly-greeting --task example.greet --cron '0 7 * * 1-5' --tz Europe/Berlin \
  --input '{"name":"team"}' --overlap skip --catch-up none --jitter 30s
$OFFLOAD schedule list                 # the rule, the next and last tick, the last job's state
$OFFLOAD schedule run nightly-greeting # a job now; the next tick stays as it was
$OFFLOAD schedule pause nightly-greeting
$OFFLOAD schedule resume nightly-greeting # from the next tick after now; none made up
$OFFLOAD schedule rm nightly-greeting
