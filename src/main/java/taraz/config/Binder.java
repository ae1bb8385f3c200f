package taraz.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import io.vertx.core.json.JsonObject;

import java.lang.reflect.RecordComponent;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * Binds the flat settings file into typed records, one per concern. A record's component {@code sweepBatchMax}
 * under the prefix {@code topup} is the key {@code topupSweepBatchMax}; a {@link Range} on a component bounds its
 * value. Every key must be claimed by one record: a key no record claims (a typo, a setting that was renamed) fails
 * the start, naming it.
 */
final class Binder {

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);

    private final JsonObject json;
    private final Set<String> claimed = new HashSet<>();

    Binder(JsonObject json) {
        this.json = json;
    }

    /** The record of the keys that start with {@code prefix} (none: the component names are the keys), checked. */
    <R extends Record> R bind(String prefix, Class<R> type) {
        JsonObject values = new JsonObject();
        for (RecordComponent component : type.getRecordComponents()) {
            String key = key(prefix, component.getName());
            if (!claimed.add(key)) {
                throw new IllegalStateException("setting " + key + " is bound twice");
            }
            Object value = json.getValue(key);
            Range range = component.getAnnotation(Range.class);
            if (range != null) {
                requireRange(key, value, range.min(), range.max());
            }
            values.put(component.getName(), value);
        }
        try {
            return MAPPER.readValue(values.encode(), type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(message(prefix, e), e);
        }
    }

    /** Fails on a key that no record claimed. */
    void refuseUnknownKeys() {
        Set<String> unknown = new TreeSet<>(json.fieldNames());
        unknown.removeAll(claimed);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown setting" + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown)
                    + "; the settings are the keys of conf/taraz.json, listed in the README");
        }
    }

    static String key(String prefix, String component) {
        return prefix.isEmpty() ? component : prefix + Character.toUpperCase(component.charAt(0)) + component.substring(1);
    }

    static void requireRange(String key, Object value, long min, long max) {
        if (!(value instanceof Number number) || number.doubleValue() != number.longValue()) {
            throw new IllegalArgumentException(key + " must be an integer, got " + value);
        }
        long v = number.longValue();
        if (v < min || v > max) {
            throw new IllegalArgumentException(key + " must be in [" + min + ", " + max + "], got " + v);
        }
    }

    /** Environment variables are text: a number-valued setting's variable is read as an integer. */
    static Object coerce(Object current, String value, String variable) {
        if (current instanceof Number) {
            try {
                return Long.parseLong(value.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(variable + " must be an integer, got '" + value + "'");
            }
        }
        return value;
    }

    /** A record's own check says what is wrong in its words; a value of the wrong kind is named by its key. */
    private static String message(String prefix, JsonProcessingException e) {
        if (e instanceof ValueInstantiationException refused && refused.getCause() != null) {
            return refused.getCause().getMessage();
        }
        if (e instanceof JsonMappingException mapping && !mapping.getPath().isEmpty()) {
            return key(prefix, mapping.getPath().get(0).getFieldName()) + ": " + mapping.getOriginalMessage();
        }
        return e.getOriginalMessage();
    }
}
