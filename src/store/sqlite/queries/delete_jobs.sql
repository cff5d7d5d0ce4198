-- params: :task, :state
DELETE FROM jobs WHERE task = :task AND state = :state
