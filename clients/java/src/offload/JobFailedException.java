package offload;

import java.util.Map;

/** {@link Client#run}: the job failed or was cancelled. {@link #job()} is the job as the server has it. */
public class JobFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Map<String, Object> job;

    public JobFailedException(Map<String, Object> job) {
        super("job " + job.get("id") + " (" + job.get("task") + ") " + job.get("state") + ": " + errorMessage(job));
        this.job = job;
    }

    public Map<String, Object> job() {
        return job;
    }

    private static Object errorMessage(Map<String, Object> job) {
        Object error = job.get("error");
        return error instanceof Map ? ((Map<?, ?>) error).get("message") : "";
    }
}
