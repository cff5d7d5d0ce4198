-- params: :id
SELECT {{BATCH_COLUMNS}} FROM batches WHERE id = :id
