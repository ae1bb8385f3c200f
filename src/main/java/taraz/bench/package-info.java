/**
 * The performance team's harness: load (closed and open), latency, the ledger check through the API, result.json.
 * It imports no other taraz package: it talks to a gateway only over HTTP, as any client would.
 */
package taraz.bench;
