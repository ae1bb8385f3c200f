/**
 * Owns the settings of a process: conf/taraz.json, then the environment, then flags, read once and validated.
 * May import db (to check a PostgreSQL URL) and nothing else of taraz; every layer may import it.
 */
package taraz.config;
