-- params: :id
DELETE FROM workers WHERE id = :id
