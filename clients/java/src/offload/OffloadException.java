package offload;

import java.util.Collections;
import java.util.Map;

/** An error answer from the server: a stable {@link #code()} (see docs/reference/errors.md), the HTTP status and details. */
public class OffloadException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String code;
    private final int status;
    private final transient Map<String, Object> details;

    public OffloadException(String code, String message, int status, Map<String, Object> details) {
        super(code + ": " + message);
        this.code = code;
        this.status = status;
        this.details = details == null ? Collections.emptyMap() : Collections.unmodifiableMap(details);
    }

    public String code() {
        return code;
    }

    public int status() {
        return status;
    }

    public Map<String, Object> details() {
        return details;
    }

    /** The server is unreachable or busy for now: the same request may succeed later. */
    public boolean isTransient() {
        return status >= 500 || "RATE_LIMITED".equals(code);
    }
}
