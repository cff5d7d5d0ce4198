-- The tasks of a group being saved that another group holds (locked until the save commits).
-- params: $1 name, $2 tasks (array)
SELECT name, push_group AS "pushGroup" FROM tasks
WHERE name = ANY ($2::text[]) AND push_group IS NOT NULL AND push_group <> $1
FOR UPDATE
