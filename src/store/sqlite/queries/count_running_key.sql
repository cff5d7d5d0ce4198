-- params: :task, :key
SELECT count(*) AS n FROM jobs WHERE state = 'running' AND task = :task AND concurrency_key = :key
