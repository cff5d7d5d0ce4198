-- params: :id, :jobId
UPDATE batches SET on_finish_job_id = :jobId WHERE id = :id AND on_finish_job_id IS NULL
