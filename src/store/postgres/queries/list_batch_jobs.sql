-- params: $1 batch id, $2 limit
SELECT {{JOB_COLUMNS}} FROM jobs WHERE batch_id = $1 ORDER BY jobs.id LIMIT $2
