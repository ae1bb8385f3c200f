/**
 * Support tools behind the admin token: manual adjustments and the list of payments by state.
 * Adjustments move money only through the ledger, against the corrections account.
 */
package taraz.admin;
