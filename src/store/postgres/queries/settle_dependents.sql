-- params: $1 finished job ids (array, sorted), $2 waiting jobs to settle (array) or NULL for all, $3 now
SELECT kind, id, task, state, run_at AS "runAt", batch_id AS "batchId", error FROM settle_dependents($1, $2, $3)
