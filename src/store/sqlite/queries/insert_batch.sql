-- params: :title, :total, :onFinish (JSON of the job to enqueue at the end, or NULL), :isFlow, :now
INSERT INTO batches (id, title, total, on_finish, is_flow, created_at)
VALUES (max(coalesce((SELECT max(id) FROM batches), 0), (SELECT value FROM id_floor WHERE name = 'batches')) + 1,
        :title, :total, :onFinish, :isFlow, :now)
