-- params: :name
DELETE FROM schedules WHERE name = :name
