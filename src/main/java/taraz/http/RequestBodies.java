package taraz.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.Validator;
import io.vertx.openapi.contract.MediaType;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Turns a request body into a validated JSON object, or a 400 with a stable code. Two layers:
 * a strict parse (one JSON object, nothing after it, no duplicate keys, numbers only as
 * integer literals that fit a long), then the operation's schema from {@code openapi.yaml}
 * (required fields, types, no unknown fields, patterns). Amount bounds that come from the
 * settings are checked last, by {@link #amount}.
 */
public final class RequestBodies {

    /** Body fields that carry Rials: a problem with one of them is {@code invalid_amount}. */
    private static final Set<String> AMOUNT_FIELDS = Set.of("amount", "fare", "commission");

    private static final JsonMapper STRICT = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Map<String, Validator> validators;
    /** The operations whose body the contract requires; the others take none as {@code {}}. */
    private final Set<String> required;
    private final long amountRialsMax;

    private RequestBodies(Map<String, Validator> validators, Set<String> required, long amountRialsMax) {
        this.validators = validators;
        this.required = required;
        this.amountRialsMax = amountRialsMax;
    }

    static RequestBodies compile(OpenAPIContract contract, long amountRialsMax) {
        Map<String, Validator> validators = new HashMap<>();
        Set<String> required = new HashSet<>();
        for (Operation operation : contract.operations()) {
            if (operation.getRequestBody() == null) {
                continue;
            }
            MediaType json = operation.getRequestBody().getContent().get("application/json");
            validators.put(operation.getOperationId(), contract.getSchemaRepository().validator(json.getSchema()));
            if (operation.getRequestBody().isRequired()) {
                required.add(operation.getOperationId());
            }
        }
        return new RequestBodies(Map.copyOf(validators), Set.copyOf(required), amountRialsMax);
    }

    /**
     * The body of {@code operationId}, validated; an absent body is {@code {}} when the contract allows it, and an
     * operation that takes no body (a read) ignores one.
     */
    public JsonObject parse(String operationId, Buffer body) {
        Validator validator = validators.get(operationId);
        if (validator == null) {
            return new JsonObject();
        }
        if (body == null || body.length() == 0) {
            if (required.contains(operationId)) {
                throw Failure.badRequest("invalid_json", "the request needs a JSON object body");
            }
            return new JsonObject();
        }
        JsonNode tree;
        try {
            tree = STRICT.readTree(body.getBytes());
        } catch (JsonProcessingException e) {
            throw Failure.badRequest("invalid_json", "malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw Failure.badRequest("invalid_json", "unreadable body");
        }
        if (tree == null || !tree.isObject()) {
            throw Failure.badRequest("invalid_json", "the body must be one JSON object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = tree.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            checkNumber(field.getKey(), field.getValue());
        }
        JsonObject json = new JsonObject(STRICT.convertValue(tree, Map.class));
        OutputUnit result = validator.validate(json);
        if (!Boolean.TRUE.equals(result.getValid())) {
            throw schemaFailure(result);
        }
        return json;
    }

    /** Reads a Rials field that the schema already typed as an integer, within the maximum. */
    public long amount(JsonObject body, String field, long minRials) {
        long value = body.getLong(field);
        if (value < minRials || Math.abs(value) > amountRialsMax) {
            throw Failure.badRequest("invalid_amount", field + " must be an integer number of Rials in ["
                    + minRials + ", " + amountRialsMax + "], got " + value);
        }
        return value;
    }

    private static void checkNumber(String field, JsonNode value) {
        if (!value.isNumber()) {
            return;
        }
        String code = AMOUNT_FIELDS.contains(field) ? "invalid_amount" : "invalid_type";
        if (!value.isIntegralNumber()) {
            throw Failure.badRequest(code, field + " must be an integer literal (no fraction or exponent), got " + value);
        }
        if (!value.canConvertToLong()) {
            throw Failure.badRequest(code, field + " does not fit in a 64-bit integer: " + value);
        }
    }

    private static Failure schemaFailure(OutputUnit result) {
        // The most specific error: the deepest one (a type error inside a $ref'd schema rather
        // than the $ref's "does not match"), and not the unknown-property error that is also
        // reported for a known property whose own schema failed.
        OutputUnit first = result;
        if (result.getErrors() != null && !result.getErrors().isEmpty()) {
            first = result.getErrors().stream()
                    .filter(e -> e.getKeywordLocation() == null || !e.getKeywordLocation().endsWith("Properties"))
                    .max(java.util.Comparator.comparingInt(e -> e.getKeywordLocation() == null ? 0 : e.getKeywordLocation().length()))
                    .orElse(result.getErrors().get(0));
        }
        String location = first.getInstanceLocation() == null ? "" : first.getInstanceLocation().replaceFirst("^#?/?", "");
        String keyword = first.getKeywordLocation() == null ? "" : first.getKeywordLocation();
        String field = location;
        String message = (field.isEmpty() ? "body" : field) + ": " + first.getError();
        if (keyword.endsWith("additionalProperties") || keyword.endsWith("unevaluatedProperties")) {
            return Failure.badRequest("unknown_field", message);
        }
        if (keyword.endsWith("required")) {
            return Failure.badRequest("missing_field", message);
        }
        if (AMOUNT_FIELDS.contains(field)) {
            // The schema's own words (a "5" or a null "does not match the format int64") do not tell a caller what to send.
            boolean notAnInteger = keyword.endsWith("type") || keyword.endsWith("format");
            return Failure.badRequest("invalid_amount", notAnInteger ? field + " must be a JSON integer (rials)" : message);
        }
        if (keyword.endsWith("type")) {
            return Failure.badRequest("invalid_type", message);
        }
        return Failure.badRequest("invalid_field", message);
    }
}
