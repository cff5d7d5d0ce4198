-- params: :ids (JSON array)
SELECT {{JOB_COLUMNS}} FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))
