/**
 * Owns the PostgreSQL process (the embedded one, its data directory and its orphans) and the schema migrations.
 * It imports no other taraz package and knows nothing about money: no ledger, wallet or payment logic lives here.
 */
package taraz.db;
