-- params: :batchId, :limit
SELECT {{JOB_COLUMNS}} FROM jobs WHERE batch_id = :batchId ORDER BY id LIMIT :limit
