-- params: :title, :total, :onFinish (JSON of the job to enqueue at the end, or NULL), :now
INSERT INTO batches (title, total, on_finish, created_at) VALUES (:title, :total, :onFinish, :now)
