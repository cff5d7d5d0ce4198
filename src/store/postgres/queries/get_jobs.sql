-- params: $1 ids (array)
SELECT {{JOB_COLUMNS}} FROM jobs WHERE id = ANY ($1::bigint[])
