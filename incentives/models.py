# Prize pools, settlements, payouts and the ledger arrive with the incentives work.
