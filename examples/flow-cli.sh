#!/bin/sh
# A flow from a JSON file (examples/flow.json), from the shell. A worker for its tasks runs
# somewhere on the store: offload worker ./dist/examples/flow-tasks.js
set -eu
OFFLOAD=${OFFLOAD:-npx offload} # how to run the offload command
FLOW=${FLOW:-examples/flow.json}

$OFFLOAD flow "$FLOW" --wait # progress, then the outcome; exit 0 only if every step succeeded

id=$($OFFLOAD flow "$FLOW" | sed -n '1s/^flow \([0-9]*\).*/\1/p') # submit only; the first line names it
$OFFLOAD flow show "$id"  # every step: its job, task, state, what it waits for
$OFFLOAD flow watch "$id" # from anywhere on the store, to the end, with the same exit code
