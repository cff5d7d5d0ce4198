package offload;

import java.time.Duration;

/** Throw to give the job back and pause the whole task for {@code delay} (an upstream said "slow down"). */
public class SuspendTask extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Duration delay;

    public SuspendTask(Duration delay) {
        super("task suspended for " + delay.toMillis() + " ms");
        this.delay = delay;
    }

    public Duration delay() {
        return delay;
    }
}
