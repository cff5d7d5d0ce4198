-- Batches and flows, newest first.
-- params: $1 before id (null: from the newest), $2 limit
SELECT {{BATCH_COLUMNS}} FROM batches WHERE $1::bigint IS NULL OR batches.id < $1 ORDER BY batches.id DESC LIMIT $2
