#!/bin/sh
# A worker host driven by cron, with no process to keep alive. Its crontab line:
#   */5 * * * * /srv/app/cron-worker.sh >> /var/log/offload-worker.log 2>&1
# Each run works at most 4 minutes (runs never overlap: 4 min plus the 30 s shutdown timeout is
# less than 5), at most 500 jobs, and exits 0 as soon as nothing is runnable. Jobs still running
# at the end get the shutdown timeout to finish; the rest go back to the queue for the next run.
set -eu
OFFLOAD=${OFFLOAD:-npx offload} # how to run the offload command
exec $OFFLOAD worker "${TASKS:-./dist/tasks.js}" --for 4m --max-jobs 500 --until-idle --shutdown-timeout 30000
