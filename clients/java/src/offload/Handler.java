package offload;

/**
 * Does one job of a task: gets its input (decoded JSON: maps, lists, strings, numbers, booleans,
 * null) and returns its result (anything {@link Json} can write). Throw to fail the attempt (it is
 * retried by the task's policy), or throw {@link Permanent}, {@link RetryLater} or {@link SuspendTask}.
 */
@FunctionalInterface
public interface Handler {
    Object handle(Object input, JobContext ctx) throws Exception;
}
