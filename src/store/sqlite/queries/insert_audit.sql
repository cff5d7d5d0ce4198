-- params: :actor, :method, :route, :targets (JSON), :summary, :status, :at
INSERT INTO audit_log (actor, method, route, targets, summary, status, at)
VALUES (:actor, :method, :route, :targets, :summary, :status, :at)
