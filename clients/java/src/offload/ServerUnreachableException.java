package offload;

import java.util.Map;

/** The server could not be reached: refused or reset connection, timeout, or a 5xx answer. */
public class ServerUnreachableException extends OffloadException {
    private static final long serialVersionUID = 1L;

    public ServerUnreachableException(String url, String problem, Throwable cause) {
        super("SERVER_UNREACHABLE", "the Offload server at " + url + " could not be reached: " + problem, 503, Map.of("url", url, "problem", problem));
        if (cause != null) initCause(cause);
    }
}
