-- Counts finished members of a batch; a row comes back only when this completes the batch.
-- params: $1 batch id, $2 succeeded, $3 failed, $4 cancelled, $5 now
SELECT * FROM batch_add_finished($1, $2, $3, $4, $5)
