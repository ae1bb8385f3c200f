package taraz.http;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.json.schema.Validator;
import io.vertx.json.schema.common.dsl.SchemaType;
import io.vertx.openapi.contract.Location;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.contract.Parameter;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Checks a request's path, query and header parameters against the operation's schemas in {@code openapi.yaml},
 * compiled once at start. The contract also names the answer for each parameter: {@code x-invalid} (and, for a
 * required one, {@code x-missing}) is the {@code {code, message}} of the 400, and an operation's {@code x-unknown-query}
 * the 400 of a query parameter it does not declare. What only the settings know (the
 * page size maximum) is checked by the typed readers of {@link Params}.
 */
public final class RequestParams {

    /** {@code 30s}, {@code 10m}, {@code 2h}, {@code 1d}; the contract's pattern also lets ISO-8601 through. */
    private static final Pattern SHORT_DURATION = Pattern.compile("(\\d{1,9})([smhd])");

    private record Check(Parameter parameter, Validator validator, Failure missing, Failure invalid) { }

    /** An operation that refuses query parameters it does not declare ({@code x-unknown-query}): its names, its 400. */
    private record ClosedQuery(Set<String> names, Failure unknown) { }

    private final Map<String, List<Check>> checks;
    private final Map<String, ClosedQuery> closed;

    private RequestParams(Map<String, List<Check>> checks, Map<String, ClosedQuery> closed) {
        this.checks = checks;
        this.closed = closed;
    }

    static RequestParams compile(OpenAPIContract contract) {
        Map<String, List<Check>> checks = new HashMap<>();
        Map<String, ClosedQuery> closed = new HashMap<>();
        for (Operation operation : contract.operations()) {
            JsonObject unknown = operation.getOpenAPIModel().getJsonObject("x-unknown-query");
            if (unknown != null) {
                Set<String> names = operation.getParameters().stream().filter(p -> p.getIn() == Location.QUERY)
                        .map(Parameter::getName).collect(Collectors.toUnmodifiableSet());
                closed.put(operation.getOperationId(), new ClosedQuery(names,
                        answer(unknown, operation, "x-unknown-query")));
            }
            List<Check> list = new ArrayList<>();
            for (Parameter parameter : operation.getParameters()) {
                if (parameter.getIn() == Location.COOKIE) {
                    throw new IllegalStateException("openapi.yaml: " + operation.getOperationId() + " reads a cookie; taraz reads none");
                }
                JsonObject model = parameter.getOpenAPIModel();
                Failure invalid = answer(model.getJsonObject("x-invalid"), operation, "parameter " + parameter.getName()
                        + " needs x-invalid");
                Failure missing = parameter.isRequired()
                        ? answer(model.getJsonObject("x-missing", model.getJsonObject("x-invalid")), operation,
                        "parameter " + parameter.getName() + " needs x-missing")
                        : null;
                list.add(new Check(parameter, contract.getSchemaRepository().validator(parameter.getSchema()), missing, invalid));
            }
            checks.put(operation.getOperationId(), List.copyOf(list));
        }
        return new RequestParams(Map.copyOf(checks), Map.copyOf(closed));
    }

    private static Failure answer(JsonObject answer, Operation operation, String what) {
        if (answer == null || answer.getString("code") == null || answer.getString("message") == null) {
            throw new IllegalStateException("openapi.yaml: " + operation.getOperationId() + ": " + what + ": {code, message}");
        }
        return Failure.badRequest(answer.getString("code"), answer.getString("message"));
    }

    /** The parameters of {@code operationId} in {@code ctx}, each valid by its schema, or the contract's 400. */
    public Params check(RoutingContext ctx, String operationId) {
        List<Check> list = checks.get(operationId);
        if (list == null) {
            throw new IllegalStateException("openapi.yaml has no operation " + operationId);
        }
        ClosedQuery closedQuery = closed.get(operationId);
        if (closedQuery != null && !closedQuery.names().containsAll(ctx.queryParams().names())) {
            throw closedQuery.unknown();
        }
        Map<String, Object> values = new HashMap<>();
        for (Check check : list) {
            Parameter parameter = check.parameter();
            String raw = switch (parameter.getIn()) {
                case PATH -> ctx.pathParam(parameter.getName());
                case QUERY -> first(ctx.queryParam(parameter.getName()));
                case HEADER -> ctx.request().getHeader(parameter.getName());
                case COOKIE -> throw new IllegalStateException("taraz reads no cookie");
            };
            if (raw == null) {
                if (check.missing() != null) {
                    throw check.missing();
                }
                continue;
            }
            Object value = typed(parameter, raw);
            if (!Boolean.TRUE.equals(check.validator().validate(value).getValid())) {
                throw check.invalid();
            }
            values.put(parameter.getName(), value);
        }
        return new Params(values);
    }

    private static String first(List<String> values) {
        return values.isEmpty() ? null : values.get(0);
    }

    /**
     * A value as its schema types it: text stays text (never read as JSON, so a key of digits is still a string), an
     * integer is parsed, and one that does not parse stays text for the schema to refuse.
     */
    private static Object typed(Parameter parameter, String raw) {
        if (parameter.getSchemaType() == SchemaType.INTEGER) {
            try {
                return Long.parseLong(raw);
            } catch (NumberFormatException e) {
                return raw;
            }
        }
        return raw;
    }

    /** A request's checked parameters, read by name. */
    public record Params(Map<String, Object> values) {

        public String text(String name) {
            return (String) values.get(name);
        }

        /** {@code limit}: the default page size when absent, and never above the maximum. */
        public int limit(int pageSizeDefault, int pageSizeMax) {
            Long limit = (Long) values.get("limit");
            if (limit == null) {
                return pageSizeDefault;
            }
            if (limit > pageSizeMax) {
                throw Failure.badRequest("invalid_query", "limit must be an integer in [1, " + pageSizeMax + "]");
            }
            return limit.intValue();
        }

        /** {@code cursor}: a positive long, as an earlier page's {@code nextCursor} gave it, or null. */
        public Long cursor() {
            String cursor = text("cursor");
            if (cursor == null) {
                return null;
            }
            try {
                return Long.parseLong(cursor);
            } catch (NumberFormatException e) {
                throw Failure.badRequest("invalid_cursor", "cursor must be a nextCursor value from an earlier page");
            }
        }

        /** A duration: {@code 30s}, {@code 10m}, {@code 2h}, {@code 1d} or ISO-8601 such as {@code PT10M}; zero when absent. */
        public Duration duration(String name) {
            String value = text(name);
            if (value == null) {
                return Duration.ZERO;
            }
            Matcher m = SHORT_DURATION.matcher(value);
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                return switch (m.group(2)) {
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofDays(n);
                };
            }
            try {
                Duration d = Duration.parse(value);
                if (!d.isNegative()) {
                    return d;
                }
            } catch (RuntimeException ignored) {
                // Answered below.
            }
            throw Failure.badRequest("invalid_query", name + " must be a duration like 30s, 10m, 2h, 1d or PT10M");
        }
    }
}
