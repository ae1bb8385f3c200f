/** The performance team's harness: load (closed and open), latency, the ledger check through the API, result.json. */
/* It talks to a gateway only over HTTP, as any client would; it never touches the gateway's database or journal. */
package taraz.bench;
