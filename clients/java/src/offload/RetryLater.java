package offload;

import java.time.Duration;

/** Throw to give the job back, to run again after {@code delay}; the attempt is not counted. */
public class RetryLater extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Duration delay;

    public RetryLater(Duration delay) {
        this(delay, "retry in " + delay.toMillis() + " ms");
    }

    public RetryLater(Duration delay, String reason) {
        super(reason);
        this.delay = delay.isNegative() ? Duration.ZERO : delay;
    }

    public Duration delay() {
        return delay;
    }
}
