-- params: $1 id
SELECT {{BATCH_COLUMNS}} FROM batches WHERE id = $1
