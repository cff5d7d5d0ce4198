-- Jobs of a task in a state that others wait for. params: :task, :state
SELECT id FROM jobs WHERE task = :task AND state = :state AND has_dependents = 1
