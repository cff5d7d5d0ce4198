-- params: $1 name
DELETE FROM endpoint_groups WHERE name = $1 RETURNING name
