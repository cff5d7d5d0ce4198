#!/bin/sh
# An operator holds a task while what it calls is down, looks, and lets it go again.
set -eu
OFFLOAD=${OFFLOAD:-npx offload} # how to run the offload command
TASK=${1:-email.send}

$OFFLOAD task suspend "$TASK" --for 30m # no worker claims its jobs for 30 minutes; running ones go on
$OFFLOAD task list                      # SUSPENDED UNTIL says until when
$OFFLOAD task resume "$TASK"            # its queued jobs are claimed again, at once
