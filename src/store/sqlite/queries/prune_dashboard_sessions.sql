-- Dashboard sessions last used before :idleBefore. params: :idleBefore
DELETE FROM dashboard_sessions WHERE last_used_at < :idleBefore
