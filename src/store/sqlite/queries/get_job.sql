-- params: :id
SELECT {{JOB_COLUMNS}} FROM jobs WHERE id = :id
