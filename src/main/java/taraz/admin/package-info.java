/**
 * Support's tools behind the admin token: manual adjustments against the corrections account, the payments by state,
 * and a customer's story (their wallets, one wallet's timeline read from every flow's tables by SQL, never through a flow).
 * May import ledger, journal, failpoint and domain; it moves money only through the ledger writer, never knows HTTP.
 */
package taraz.admin;
