-- Reads a job and locks it for the rest of the transaction.
-- params: $1 id
SELECT {{JOB_COLUMNS}} FROM jobs WHERE id = $1 FOR UPDATE
