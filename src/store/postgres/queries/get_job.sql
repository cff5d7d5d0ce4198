-- params: $1 id
SELECT {{JOB_COLUMNS}} FROM jobs WHERE id = $1
