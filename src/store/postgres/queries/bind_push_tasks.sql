-- Binds the group's tasks to it, and unbinds the tasks it no longer names (all of them when $2 is empty).
-- params: $1 name, $2 tasks (array)
UPDATE tasks SET push_group = CASE WHEN name = ANY ($2::text[]) THEN $1 ELSE NULL END
WHERE push_group = $1 OR name = ANY ($2::text[])
