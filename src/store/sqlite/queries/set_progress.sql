-- params: :id, :token, :done, :total, :message
UPDATE jobs SET progress_done = :done, progress_total = :total, progress_message = :message
WHERE id = :id AND state = 'running' AND lease_token = :token
