-- params: :name
DELETE FROM endpoint_groups WHERE name = :name
