-- params: :task
SELECT count(*) AS n FROM jobs WHERE state = 'running' AND task = :task
