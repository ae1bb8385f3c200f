/**
 * Support's tools behind the admin token: manual adjustments against the corrections account, and the payments by state.
 * May import ledger, journal, failpoint and domain; it moves money only through the ledger writer, never knows HTTP.
 */
package taraz.admin;
