-- The W3C trace context (`traceparent`) a job was submitted under, when the submitter was traced:
-- the worker that runs it, in any process, continues that trace (observability/tracing.ts).
ALTER TABLE jobs ADD COLUMN trace_context text;
