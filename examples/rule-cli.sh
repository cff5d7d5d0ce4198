#!/bin/sh
# Rules from the command line: save, list, pause, resume, remove. $OFFLOAD is the command
# (`npx offload` in a project); the store comes from $OFFLOAD_STORE.
set -e
OFFLOAD=${OFFLOAD:-npx offload}

# E-mail the on-call list when a billing job fails for good.
$OFFLOAD rule save billing-dead --on job.dead --tasks 'billing.*' --email oncall@example.com --subject Billing
# Alert when any task's oldest due job has waited more than 10 minutes, and again when it clears.
OFFLOAD_RULE_SECRET=whsec_change-me-0123456789 \
  $OFFLOAD rule save slow-queue --on task.oldest-queued --older-than 10m --webhook https://hooks.example.com/offload
$OFFLOAD rule list
$OFFLOAD rule pause slow-queue
$OFFLOAD rule resume slow-queue
$OFFLOAD rule show slow-queue
$OFFLOAD rule alerts
$OFFLOAD rule rm billing-dead
