-- params: :name
DELETE FROM rules WHERE name = :name
