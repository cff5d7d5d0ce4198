-- Binds the group's tasks to it, and unbinds the tasks it no longer names (all of them when :tasks is '[]').
-- params: :name, :tasks (JSON array)
UPDATE tasks SET push_group = CASE WHEN name IN (SELECT value FROM json_each(:tasks)) THEN :name ELSE NULL END
WHERE push_group = :name OR name IN (SELECT value FROM json_each(:tasks))
