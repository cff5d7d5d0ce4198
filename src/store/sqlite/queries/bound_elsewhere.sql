-- The tasks of a group being saved that another group holds.
-- params: :name, :tasks (JSON array)
SELECT name, push_group AS pushGroup FROM tasks
WHERE name IN (SELECT value FROM json_each(:tasks)) AND push_group IS NOT NULL AND push_group <> :name
