package offload;

/** Throw to fail the job now, whatever attempts remain (bad input that no retry will fix). */
public class Permanent extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public Permanent(String message) {
        super(message);
    }

    public Permanent(String message, Throwable cause) {
        super(message, cause);
    }
}
