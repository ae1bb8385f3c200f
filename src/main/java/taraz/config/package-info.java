/**
 * Owns the settings of a process: conf/taraz.json, then the environment, then flags, read once, bound into one typed
 * record per concern and validated, with unknown keys refused. May import db (to check a PostgreSQL URL), journal
 * (to open it as configured) and psp (to check the recovery step against the PSP's worst call), and nothing else of
 * taraz; every layer above may import it.
 */
package taraz.config;
